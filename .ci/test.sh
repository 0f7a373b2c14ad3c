#!/usr/bin/env bash
# The whole test suite (the README's test command runs this through ./distill test).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet test "$root/Distill.sln" -c Release --nologo "$@"
