# Short names for the usual commands; `make` alone lists them.
COMPOSE ?= docker compose

.DEFAULT_GOAL := help
.PHONY: help up down logs ps test check ci

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z]+:.*## / { printf "  make %-6s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

up: ## build the image and start PostgreSQL and coinpipe in the background (needs POSTGRES_PASSWORD in .env)
	$(COMPOSE) up -d --build

down: ## stop and remove the containers; the database volume is kept
	$(COMPOSE) down

logs: ## follow the logs of every service
	$(COMPOSE) logs -f

ps: ## the containers and their health
	$(COMPOSE) ps

test: ## build, then run every test
	npm test

check: ## lint, type check and test
	npm run check

ci: ## what CI runs: install from the lock file, lint, type check, test on SQLite and PostgreSQL
	bash .ci/run
