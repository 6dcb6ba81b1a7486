# The two commands a new machine needs: `make quickstart` (train + evaluate on Fashion-MNIST) and
# `make test`. Each runs scripts/setup first (idempotent), so both work on a fresh Debian 12 + .NET 10.
SHELL := /bin/bash
CLI := src/Protea.Cli/bin/Release/net10.0/Protea.Cli.dll
RESULTS := TestResults

.PHONY: setup build quickstart test bench bench-scale clean

setup:
	@scripts/setup

build: setup
	@dotnet build src/Protea.Cli -c Release --nologo --verbosity quiet -p:WarningLevel=4

quickstart: build
	dotnet $(CLI) quickstart

test: setup
	@rm -rf $(RESULTS)
	@dotnet test tests/Protea.Tests -c Release --nologo --logger "trx;LogFileName=results.trx" \
	    --results-directory $(RESULTS); status=$$?; scripts/test-summary $(RESULTS)/results.trx; exit $$status

bench: build
	bench/run

bench-scale: build
	dotnet build bench/Protea.Bench -c Release --nologo
	/usr/bin/python3 bench/scale.py

clean:
	rm -rf src/*/bin src/*/obj tests/*/bin tests/*/obj bench/*/bin bench/*/obj obj $(RESULTS)
