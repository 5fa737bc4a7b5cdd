# Short names for the usual commands; `make` alone lists them.
COMPOSE ?= docker compose
# How many workers `make workers` runs.
N ?= 2

.DEFAULT_GOAL := help
.PHONY: help up down logs ps workers worker-logs test check ci

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  make %-11s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

up: ## build the image and start PostgreSQL, Redis, two API replicas and two workers (needs POSTGRES_PASSWORD in .env)
	$(COMPOSE) up -d --build

down: ## stop and remove the containers; the PostgreSQL and Redis volumes are kept
	$(COMPOSE) down

logs: ## follow the logs of every service
	$(COMPOSE) logs -f

ps: ## the containers and their health
	$(COMPOSE) ps

workers: ## run N workers (make workers N=4), starting or stopping only the difference
	$(COMPOSE) up -d --no-recreate --scale worker=$(N) worker

worker-logs: ## follow the workers' logs
	$(COMPOSE) logs -f worker

test: ## build, then run every test
	npm test

check: ## lint, type check and test
	npm run check

ci: ## what CI runs: install from the lock file, lint, type check, test on SQLite and PostgreSQL
	bash .ci/run
