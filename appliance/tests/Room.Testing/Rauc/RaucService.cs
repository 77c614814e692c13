using System.Diagnostics;
using static Room.Testing.ToolRun;

namespace Room.Testing.Rauc;

/// <summary>A bundle for <see cref="RaucService"/> to sign: name, key (dev/foreign), compatible, format (plain/verity), version.</summary>
public sealed record RaucBundleSpec(string Name, string Key, string Compatible, string Format, string Version = "1.0.0");

/// <summary>
/// Debian's real RAUC service on this host against file-backed slots, on a private bus: the image's slot layout
/// (rootfs.0/A, rootfs.1/B, raw), its keyring and code-signing purpose check, with the Raspberry Pi tryboot backend
/// over fake firmware files as the boot loader. Bundles are made by the image build's own signing step
/// (image-build/scripts/sign-bundle.sh) with throw-away keys (scripts/make-dev-keys.sh): the image's, and a foreign CA's.
/// Plain bundles only install here: this host has no device-mapper for verity bundles (make image-test installs
/// verity ones in QEMU). Used by image-build's host tests (its RaucHost fixture) and Room.Fleet's installer tests.
/// </summary>
public class RaucService : IDisposable
{
    /// <summary>image-build's set: good and foreign (plain and verity), another compatible; tampered and truncated are derived.</summary>
    public static readonly IReadOnlyList<RaucBundleSpec> ImageBuildBundles =
    [
        new("good", "dev", "room-box-amd64", "plain"),
        new("foreign", "foreign", "room-box-amd64", "plain"),
        new("other-compatible", "dev", "room-box-arm64-rpi4", "plain"),
        new("good-verity", "dev", "room-box-amd64", "verity"),
        new("foreign-verity", "foreign", "room-box-amd64", "verity"),
    ];

    private readonly IReadOnlyList<RaucBundleSpec> _bundles;
    private Process? _service;
    private PrivateBus? _bus;

    private readonly string? _keysFrom;

    /// <param name="bundles">Bundles to sign at start; null: <see cref="ImageBuildBundles"/>. A "good" one also gives "tampered" and "truncated".</param>
    /// <param name="keysFrom">Another service's <see cref="Keys"/> to trust (several simulated rooms, one bundle); null: make new keys.</param>
    public RaucService(IReadOnlyList<RaucBundleSpec>? bundles = null, string? keysFrom = null)
    {
        _bundles = bundles ?? ImageBuildBundles;
        _keysFrom = keysFrom;
    }

    public string Dir { get; } = Directory.CreateTempSubdirectory("room-rauc-").FullName;

    public string SlotA => Path.Combine(Dir, "slot-a.img");

    public string SlotB => Path.Combine(Dir, "slot-b.img");

    public string Payload => Path.Combine(Dir, "rootfs.img");

    public string Keys => Path.Combine(Dir, "keys");

    public string Autoboot => Path.Combine(Dir, "boot", "autoboot.txt");

    /// <summary>What the tryboot backend wrote as the reboot parameter ("0 tryboot" after an install).</summary>
    public string RebootParam => Path.Combine(Dir, "reboot-param");

    public string Conf => Path.Combine(Dir, "system.conf");

    public string Bundle(string name) => Path.Combine(Dir, name + ".raucb");

    /// <summary>The private bus RAUC serves on.</summary>
    public string BusAddress => _bus!.Address;

    /// <summary>The slot RAUC was told it booted from (A or B).</summary>
    public string BootedSlot { get; private set; } = "A";

    public IReadOnlyDictionary<string, string> ClientEnv => new Dictionary<string, string>
    {
        ["DBUS_STARTER_BUS_TYPE"] = "session",
        ["DBUS_SESSION_BUS_ADDRESS"] = _bus!.Address,
    };

    public static string ImageBuild(string relative) => Path.Combine(RepoPaths.Root, "image-build", relative);

    public async Task StartAsync()
    {
        if (_keysFrom is not null)
        {
            Directory.CreateDirectory(Keys);
            foreach (var f in Directory.GetFiles(_keysFrom))
            {
                File.Copy(f, Path.Combine(Keys, Path.GetFileName(f)));
            }
        }
        else
        {
            await RunOkAsync(ImageBuild("scripts/make-dev-keys.sh"), [Keys, "dev"]);
        }

        if (_bundles.Any(b => b.Key == "foreign"))
        {
            await RunOkAsync(ImageBuild("scripts/make-dev-keys.sh"), [Keys, "foreign"]);
        }

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

        foreach (var b in _bundles)
        {
            await SignAsync(b);
        }

        if (_bundles.Any(b => b.Name == "good"))
        {
            var good = File.ReadAllBytes(Bundle("good"));
            var tampered = (byte[])good.Clone();
            tampered[4096] ^= 0x5a; // inside the payload (the squashfs before the signature)
            File.WriteAllBytes(Bundle("tampered"), tampered);
            File.WriteAllBytes(Bundle("truncated"), good[..(good.Length / 2)]);
        }

        File.WriteAllText(Conf, $"""
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
            bootloader-custom-backend={ImageBuild("rpi/rauc-tryboot-backend")}
            pre-install={ImageBuild("rootfs/usr/lib/room/rauc-pre-install.sh")}

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
        await StartServiceAsync();
    }

    /// <summary>
    /// Reboots as the Raspberry Pi firmware would (RAUC's service is stopped and started again, as booted from the
    /// slot the firmware picks): after a reboot asked with "0 tryboot" it boots [tryboot] boot_partition once, otherwise
    /// [all] boot_partition; the device-tree files say which and whether it was a tryboot; /run's reboot parameter is
    /// gone. A power cut and a reboot look the same here. Returns the slot booted (A or B).
    /// </summary>
    public async Task<string> RebootAsync()
    {
        StopService();
        var (all, tryboot) = ReadAutoboot();
        var tried = File.Exists(RebootParam) && File.ReadAllText(RebootParam).Contains("tryboot", StringComparison.Ordinal) && tryboot is not null;
        var partition = tried ? tryboot!.Value : all;
        File.Delete(RebootParam);
        File.WriteAllBytes(Path.Combine(Dir, "dt", "partition"), [0, 0, 0, (byte)partition]);
        File.WriteAllBytes(Path.Combine(Dir, "dt", "tryboot"), [0, 0, 0, (byte)(tried ? 1 : 0)]);
        BootedSlot = partition switch
        {
            2 => "A",
            3 => "B",
            _ => throw new InvalidOperationException($"autoboot.txt names partition {partition}, no slot's"),
        };
        await StartServiceAsync();
        return BootedSlot;
    }

    /// <summary>[all] and [tryboot] boot_partition of autoboot.txt.</summary>
    private (int All, int? Tryboot) ReadAutoboot()
    {
        string section = "";
        int? all = null, tryboot = null;
        foreach (var raw in File.ReadAllLines(Autoboot))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                section = line.Trim('[', ']');
            }
            else if (line.StartsWith("boot_partition=", StringComparison.Ordinal))
            {
                var n = int.Parse(line["boot_partition=".Length..], System.Globalization.CultureInfo.InvariantCulture);
                if (section == "all")
                {
                    all = n;
                }
                else if (section == "tryboot")
                {
                    tryboot = n;
                }
            }
        }

        return (all ?? throw new InvalidOperationException("autoboot.txt has no [all] boot_partition"), tryboot);
    }

    private async Task StartServiceAsync()
    {
        var psi = new ProcessStartInfo("rauc", ["--conf", Conf, $"--override-boot-slot={BootedSlot}", "service"])
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
        psi.Environment["ROOM_TRYBOOT_REBOOT"] = RebootParam;
        _service = Process.Start(psi) ?? throw new InvalidOperationException("rauc service did not start");
        _service.OutputDataReceived += (_, _) => { };
        _service.ErrorDataReceived += (_, _) => { };
        _service.BeginOutputReadLine();
        _service.BeginErrorReadLine();

        // Ready when it answers on the bus (or gone: then say so).
        for (var i = 0; ; i++)
        {
            if ((await RunAsync("rauc", ["status"], ClientEnv)).Code == 0)
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

    /// <summary>Signs a bundle of <see cref="Payload"/> with image-build's signing step.</summary>
    public Task<string> SignAsync(RaucBundleSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return RunOkAsync(ImageBuild("scripts/sign-bundle.sh"), [Payload, Bundle(spec.Name)], new Dictionary<string, string>
        {
            ["ROOM_SIGNING_CERT"] = Path.Combine(Keys, spec.Key + "-signing.cert.pem"),
            ["ROOM_SIGNING_KEY"] = Path.Combine(Keys, spec.Key + "-signing.key.pem"),
            ["ROOM_BUNDLE_COMPATIBLE"] = spec.Compatible,
            ["ROOM_BUNDLE_VERSION"] = spec.Version,
            ["ROOM_BUNDLE_FORMAT"] = spec.Format,
        });
    }

    private void StopService()
    {
        if (_service is not null)
        {
            ServerProcess.Stop(_service);
            _service = null;
        }
    }

    protected virtual void Dispose(bool disposing)
    {
        StopService();
        _bus?.Dispose();
        _bus = null;
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
