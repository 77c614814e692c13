using System.Diagnostics;
using Room.Testing;

namespace Room.ImageBuild.Tests;

/// <summary>
/// Debian's real RAUC service on this host against file-backed slots, on a private bus: the image's slot layout
/// (rootfs.0/A, rootfs.1/B, raw), its keyring and code-signing purpose check, with the Raspberry Pi tryboot backend
/// over fake firmware files as the boot loader. Bundles are made by the image build's own signing step
/// (scripts/sign-bundle.sh) with throw-away keys (scripts/make-dev-keys.sh): the image's, and a foreign CA's.
/// Plain bundles only: this host has no device-mapper for verity bundles (make image-test installs verity ones in QEMU).
/// </summary>
public sealed class RaucHost : IAsyncLifetime, IDisposable
{
    private Process? _service;
    private PrivateBus? _bus;

    public string Dir { get; } = Directory.CreateTempSubdirectory("room-rauc-").FullName;

    public string SlotA => Path.Combine(Dir, "slot-a.img");

    public string SlotB => Path.Combine(Dir, "slot-b.img");

    public string Payload => Path.Combine(Dir, "rootfs.img");

    public string Keys => Path.Combine(Dir, "keys");

    public string Autoboot => Path.Combine(Dir, "boot", "autoboot.txt");

    public string Bundle(string name) => Path.Combine(Dir, name + ".raucb");

    public IReadOnlyDictionary<string, string> ClientEnv => new Dictionary<string, string>
    {
        ["DBUS_STARTER_BUS_TYPE"] = "session",
        ["DBUS_SESSION_BUS_ADDRESS"] = _bus!.Address,
    };

    public async Task InitializeAsync()
    {
        await Tool.RunOkAsync(Tool.ImageBuild("scripts/make-dev-keys.sh"), [Keys, "dev"]);
        await Tool.RunOkAsync(Tool.ImageBuild("scripts/make-dev-keys.sh"), [Keys, "foreign"]);
        // A small root file system image (random content: any change in the slot shows).
        File.WriteAllBytes(Payload, System.Security.Cryptography.RandomNumberGenerator.GetBytes(256 * 1024));
        File.WriteAllBytes(SlotA, new byte[1024 * 1024]);
        File.WriteAllBytes(SlotB, new byte[1024 * 1024]);
        Directory.CreateDirectory(Path.Combine(Dir, "boot"));
        Directory.CreateDirectory(Path.Combine(Dir, "dt"));
        Directory.CreateDirectory(Path.Combine(Dir, "mnt"));
        File.WriteAllText(Autoboot, "[all]\ntryboot_a_b=1\nboot_partition=2\n");
        File.WriteAllBytes(Path.Combine(Dir, "dt", "partition"), [0, 0, 0, 2]);
        File.WriteAllBytes(Path.Combine(Dir, "dt", "tryboot"), [0, 0, 0, 0]);

        await SignAsync("good", "dev", "room-box-amd64", "plain");
        await SignAsync("foreign", "foreign", "room-box-amd64", "plain");
        await SignAsync("other-compatible", "dev", "room-box-arm64-rpi4", "plain");
        await SignAsync("good-verity", "dev", "room-box-amd64", "verity");
        await SignAsync("foreign-verity", "foreign", "room-box-amd64", "verity");
        var good = File.ReadAllBytes(Bundle("good"));
        var tampered = (byte[])good.Clone();
        tampered[4096] ^= 0x5a; // inside the payload (the squashfs before the signature)
        File.WriteAllBytes(Bundle("tampered"), tampered);
        File.WriteAllBytes(Bundle("truncated"), good[..(good.Length / 2)]);

        var conf = Path.Combine(Dir, "system.conf");
        File.WriteAllText(conf, $"""
            [system]
            compatible=room-box-amd64
            bootloader=custom
            mountprefix={Dir}/mnt
            statusfile={Dir}/status.raucs
            bundle-formats=plain verity

            [keyring]
            path={Keys}/dev-ca.cert.pem
            check-purpose=codesign

            [handlers]
            bootloader-custom-backend={Tool.ImageBuild("rpi/rauc-tryboot-backend")}
            pre-install={Tool.ImageBuild("rootfs/usr/lib/room/rauc-pre-install.sh")}

            [slot.rootfs.0]
            device={SlotA}
            type=raw
            bootname=A

            [slot.rootfs.1]
            device={SlotB}
            type=raw
            bootname=B
            """);

        _bus = new PrivateBus();
        var psi = new ProcessStartInfo("rauc", ["--conf", conf, "--override-boot-slot=A", "service"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (k, v) in ClientEnv)
        {
            psi.Environment[k] = v;
        }

        psi.Environment["ROOM_TRYBOOT_AUTOBOOT"] = Autoboot;
        psi.Environment["ROOM_TRYBOOT_DT"] = Path.Combine(Dir, "dt");
        psi.Environment["ROOM_TRYBOOT_REBOOT"] = Path.Combine(Dir, "reboot-param");
        _service = Process.Start(psi) ?? throw new InvalidOperationException("rauc service did not start");
        _service.OutputDataReceived += (_, _) => { };
        _service.ErrorDataReceived += (_, _) => { };
        _service.BeginOutputReadLine();
        _service.BeginErrorReadLine();

        // Ready when it answers on the bus (or gone: then say so).
        for (var i = 0; ; i++)
        {
            if ((await Tool.RunAsync("rauc", ["status"], ClientEnv)).Code == 0)
            {
                break;
            }

            if (_service.HasExited || i > 600)
            {
                throw new InvalidOperationException($"rauc service did not come up (exit {(_service.HasExited ? _service.ExitCode : -1)})");
            }

            await Task.Delay(100);
        }
    }

    private Task<string> SignAsync(string name, string key, string compatible, string format) =>
        Tool.RunOkAsync(Tool.ImageBuild("scripts/sign-bundle.sh"), [Payload, Bundle(name)], new Dictionary<string, string>
        {
            ["ROOM_SIGNING_CERT"] = Path.Combine(Keys, key + "-signing.cert.pem"),
            ["ROOM_SIGNING_KEY"] = Path.Combine(Keys, key + "-signing.key.pem"),
            ["ROOM_BUNDLE_COMPATIBLE"] = compatible,
            ["ROOM_BUNDLE_VERSION"] = "1.0.0",
            ["ROOM_BUNDLE_FORMAT"] = format,
        });

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (_service is not null)
        {
            ServerProcess.Stop(_service);
            _service = null;
        }

        _bus?.Dispose();
        _bus = null;
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }
}
