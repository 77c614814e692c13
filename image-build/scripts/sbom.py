#!/usr/bin/env python3
"""CycloneDX 1.5 JSON SBOM of a room box root file system: every Debian package and version (from the root's own dpkg
database) and every NuGet package inside the published .NET programs (from their .deps.json files).

    sbom.py ROOTFS_DIR IMAGE_VERSION OUT.json

Deterministic: components sorted, time stamp from SOURCE_DATE_EPOCH, serial number derived from the content."""
import hashlib, json, os, subprocess, sys, uuid
from datetime import datetime, timezone
from urllib.parse import quote


def debian_packages(root):
    fmt = "${Package}\t${Version}\t${Architecture}\t${source:Package}\t${db:Status-Abbrev}\n"
    out = subprocess.run(["dpkg-query", "--admindir", os.path.join(root, "var/lib/dpkg"), "-W", "-f", fmt],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        name, version, arch, source, status = line.split("\t")
        if not status.startswith("ii"):
            continue
        purl = f"pkg:deb/debian/{name}@{quote(version, safe='')}?arch={arch}&distro=debian-12"
        comp = {"type": "library" if name.startswith("lib") else "application", "bom-ref": purl, "name": name,
                "version": version, "purl": purl, "properties": [{"name": "debian:architecture", "value": arch}]}
        if source and source != name:
            comp["properties"].append({"name": "debian:source", "value": source})
        copyright_file = os.path.join(root, "usr/share/doc", name, "copyright")
        if os.path.exists(copyright_file):
            comp["properties"].append({"name": "debian:copyright-file", "value": f"/usr/share/doc/{name}/copyright"})
        yield comp


def nuget_packages(root):
    seen = {}
    for base, _, files in os.walk(os.path.join(root, "usr/lib/room")):
        for f in sorted(files):
            if not f.endswith(".deps.json"):
                continue
            with open(os.path.join(base, f), encoding="utf-8") as fh:
                deps = json.load(fh)
            for key, lib in deps.get("libraries", {}).items():
                if lib.get("type") not in ("package", "runtimepack"):
                    continue
                name, version = key.split("/", 1)
                purl = f"pkg:nuget/{name}@{version}"
                seen.setdefault(purl, {"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl,
                                       "properties": []})["properties"].append(
                    {"name": "room:used-by", "value": "/" + os.path.relpath(os.path.join(base, f), root)})
    return seen.values()


def main():
    root, version, out = sys.argv[1:4]
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    components = sorted(list(debian_packages(root)) + list(nuget_packages(root)), key=lambda c: c["bom-ref"])
    body = json.dumps(components, sort_keys=True).encode()
    bom = {
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.UUID(hashlib.sha256(body + version.encode()).hexdigest()[:32])}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "component": {"type": "operating-system", "bom-ref": "room-box", "name": "room-box", "version": version,
                          "description": "Room box root file system (Debian 12, amd64)"},
            "tools": {"components": [{"type": "application", "name": "image-build/scripts/sbom.py"}]},
        },
        "components": components,
        "dependencies": [{"ref": "room-box", "dependsOn": [c["bom-ref"] for c in components]}],
    }
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(bom, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"sbom: {out}: {sum(1 for c in components if c['purl'].startswith('pkg:deb'))} Debian packages, "
          f"{sum(1 for c in components if c['purl'].startswith('pkg:nuget'))} NuGet packages")


if __name__ == "__main__":
    main()
