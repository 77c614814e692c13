# image-build: the room box's OS image (Debian 12 amd64, GPT with ESP + root A/B + data, GRUB EFI A/B, read-only
# squashfs root), its signed RAUC bundle (verity) and SBOM; see image-build/README section in README.md.
# mmdebstrap builds from this machine's own apt sources; RAUC, squashfs-tools, GRUB's EFI modules, mtools and
# dosfstools assemble; OVMF and QEMU boot it (make image-test); rauc and dbus run the host tests (Room.ImageBuild.Tests,
# part of the .NET tests of `make test`: bundle refusals with file-backed slots, the RAUC bus policy, the tryboot backend).
APT_PACKAGES += mmdebstrap rauc squashfs-tools grub-efi-amd64-bin grub-common mtools dosfstools fdisk e2fsprogs openssl \
  systemd python3 dbus util-linux ovmf qemu-system-x86 openssh-client openssh-server nftables

.PHONY: image image-bundle image-verify image-test image-lock

# The disk image, the root file system, the signed bundle and the SBOM in image-build/out (about 8-12 min here).
image: deps
	@image-build/scripts/build.sh

# Only the signing step (the key from ROOM_SIGNING_CERT/ROOM_SIGNING_KEY; the development key when unset).
image-bundle:
	@ROOM_IMAGE_STEPS=bundle image-build/scripts/build.sh

# Two builds from the same inputs (fresh publish, fresh mmdebstrap) must give the same root file system hash.
image-verify: deps
	@image-build/scripts/verify.sh

# Boots the image in QEMU (OVMF, TCG): roomd on the system bus, the panel's page, boot-to-ready; installs the bundle
# into the other slot with RAUC in the VM, reboots into it, and falls back from a slot that never marks itself good.
image-test: deps
	@image-build/scripts/image-test.sh

# Rewrites image-build/packages.lock from what the archive gives today (review the diff before committing it).
image-lock: deps
	@image-build/scripts/lock.sh
