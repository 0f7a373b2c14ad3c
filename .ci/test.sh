#!/usr/bin/env bash
# The whole test suite (the README's test command runs this through ./distill test).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# onnxruntime-node checks the exported models; its postinstall would try to download GPU binaries, which we skip.
js="$root/tests/Distill.Onnx.Tests/js"
if [[ -f "$js/package.json" && ! -d "$js/node_modules/onnxruntime-node" ]]; then
  (cd "$js" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error 2>/dev/null \
     || ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error)
fi
exec dotnet test "$root/Distill.sln" -c Release --nologo "$@"
