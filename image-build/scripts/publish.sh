#!/usr/bin/env bash
# Publishes what the image runs, self-contained for linux-x64 with ReadyToRun code (no JIT of the start path at boot):
#   $1/room            roomd and roomctl          -> /usr/lib/room
#   $1/controller-ui   the touch panel            -> /usr/lib/room/controller-ui
# Deterministic (ContinuousIntegrationBuild maps source paths, no PDBs), so two builds give the same bytes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: publish.sh OUTDIR}
rid=${ROOM_IMAGE_RID:-linux-x64}
rm -rf "$out" && mkdir -p "$out"
opts=(-c Release -r "$rid" --self-contained -p:PublishReadyToRun=true -p:InvariantGlobalization=true -p:DebugType=none
  -p:DebugSymbols=false -p:GenerateDocumentationFile=false -p:ContinuousIntegrationBuild=true -p:Deterministic=true
  --verbosity quiet -nologo)
log=$out.log
: >"$log"
for p in appliance/Room.Appliance/Room.Appliance.csproj:room appliance/Room.Cli/Room.Cli.csproj:room \
         controller-ui/Room.ControllerUi/Room.ControllerUi.csproj:controller-ui; do
  dotnet publish "$ROOT/${p%%:*}" "${opts[@]}" -o "$out/${p##*:}" >>"$log" 2>&1 || { cat "$log" >&2; echo "publish.sh: ${p%%:*} did not publish" >&2; exit 1; }
done
# Auto-framing's OpenCV runtime (~110 MB, and its GTK dependencies) is not in the image: roomd reports framing unavailable.
rm -f "$out"/room/libOpenCvSharpExtern.so
