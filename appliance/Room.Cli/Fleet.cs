using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Room.Fleet.Channel;
using Room.Fleet.Jobs;
using Room.Fleet.Rollout;

namespace Room.Cli;

/// <summary>
/// roomctl fleet: the fleet admin's commands over the fleet broker (not roomd's bus). The connection comes from the
/// environment: ROOM_FLEET_BROKER (HOST:PORT), ROOM_FLEET_CA (the broker's CA, PEM), ROOM_FLEET_CERT and ROOM_FLEET_KEY
/// (the admin's client certificate and key, PEM; its CN is the admin's name in the broker's ACL); push also needs
/// ROOM_FLEET_SIGNER_CERT and ROOM_FLEET_SIGNER_KEY (a fleet-operator: or fleet-admin: code-signing certificate).
/// Exit codes: 0 done, 1 a rollout halted, 2 usage, 3 the broker is unreachable.
/// </summary>
internal static class Fleet
{
    public const string Usage = """
        fleet (admin; the broker from ROOM_FLEET_BROKER, ROOM_FLEET_CA, ROOM_FLEET_CERT, ROOM_FLEET_KEY)
          fleet list                      every room: online, version, slot, its last update
          fleet watch                     print every room's status change (Ctrl+C to stop)
          fleet push BUNDLE --url URL --version V --compatible C --to GROUP [--canary N%] [--max-failures K]
                                          staged rollout of BUNDLE (served at URL) to GROUP's rooms: N % canaries
                                          (default 10, at least one) first, the rest once they booted it healthy;
                                          halts (exit 1) when a canary fails or more than K others do (default 0);
                                          jobs signed with ROOM_FLEET_SIGNER_CERT and ROOM_FLEET_SIGNER_KEY
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> words, bool json, Func<string, string?> env, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        FleetChannelOptions options;
        try
        {
            options = Options(env);
        }
        catch (UsageException e)
        {
            await error.WriteLineAsync("roomctl: " + e.Message);
            return 2;
        }

        await using var admin = new FleetAdminClient(options);
        try
        {
            await admin.ConnectAsync(cancellationToken);
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or FleetSubscribeException or FleetPublishException)
        {
            await error.WriteLineAsync($"roomctl: cannot reach the fleet broker {options.Host}:{options.Port}: {e.Message}");
            return 3;
        }

        try
        {
            return await RunCommandAsync(admin, words, json, env, output, error, cancellationToken);
        }
        catch (UsageException e)
        {
            await error.WriteLineAsync($"roomctl: {e.Message}\n\n{Usage}");
            return 2;
        }
    }

    private static async Task<int> RunCommandAsync(FleetAdminClient admin, IReadOnlyList<string> words, bool json, Func<string, string?> env,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        switch (words)
        {
            case ["list"]:
                await output.WriteLineAsync(json ? JsonSerializer.Serialize(admin.Rooms.Values.OrderBy(s => s.Room, StringComparer.Ordinal), FleetJson) : List(admin.Rooms.Values));
                return 0;
            case ["watch"]:
                var done = new TaskCompletionSource();
                admin.StatusReceived += s => output.WriteLine(json ? JsonSerializer.Serialize(s, FleetJson) : Line(s));
                await output.WriteLineAsync(json ? "{\"watching\":true}" : "watching the fleet (Ctrl+C to stop)");
                using (cancellationToken.Register(() => done.TrySetResult()))
                {
                    await done.Task;
                }

                return 0;
            case ["push", var bundle, ..]:
                return await PushAsync(admin, bundle, [.. words.Skip(2)], env, output, error, cancellationToken);
            default:
                throw new UsageException($"unknown fleet command '{string.Join(' ', words)}'");
        }
    }

    private static readonly JsonSerializerOptions FleetJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private static FleetChannelOptions Options(Func<string, string?> env)
    {
        string Need(string name) => env(name) is { Length: > 0 } v ? v : throw new UsageException($"fleet commands need {name} (see roomctl help)");
        var broker = Need("ROOM_FLEET_BROKER");
        var colon = broker.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(broker[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new UsageException($"ROOM_FLEET_BROKER must be HOST:PORT, not '{broker}'");
        }

        return new FleetChannelOptions
        {
            Host = broker[..colon],
            Port = port,
            CaFile = Need("ROOM_FLEET_CA"),
            CertificateFile = Need("ROOM_FLEET_CERT"),
            KeyFile = Need("ROOM_FLEET_KEY"),
        };
    }

    private static async Task<int> PushAsync(FleetAdminClient admin, string bundlePath, IReadOnlyList<string> args, Func<string, string?> env,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? url = null, version = null, compatible = null, group = null;
        int canary = 10, maxFailures = 0;
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--url": url = Value(); break;
                case "--version": version = Value(); break;
                case "--compatible": compatible = Value(); break;
                case "--to": group = Value(); break;
                case "--canary":
                    var c = Value().TrimEnd('%');
                    canary = int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 100
                        ? n : throw new UsageException($"--canary must be 1-100 %, not '{c}'");
                    break;
                case "--max-failures":
                    var m = Value();
                    maxFailures = int.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k : throw new UsageException($"--max-failures must be a number, not '{m}'");
                    break;
                default: throw new UsageException($"unknown push option '{args[i]}'");
            }
        }

        if (url is null || version is null || compatible is null || group is null)
        {
            throw new UsageException("push needs --url, --version, --compatible and --to");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new UsageException($"--url must be an https:// URL, not '{url}'");
        }

        if (!BundleVersion.TryParse(version, out _))
        {
            throw new UsageException($"--version must be 2-4 dot-separated numbers, not '{version}'");
        }

        if (!FleetTopics.IsValidName(group))
        {
            throw new UsageException($"'{group}' is not a group name");
        }

        if (!File.Exists(bundlePath))
        {
            await error.WriteLineAsync($"roomctl: no bundle at {bundlePath}");
            return 2;
        }

        string signerCert = env("ROOM_FLEET_SIGNER_CERT") ?? "", signerKey = env("ROOM_FLEET_SIGNER_KEY") ?? "";
        if (signerCert.Length == 0 || signerKey.Length == 0)
        {
            throw new UsageException("push needs ROOM_FLEET_SIGNER_CERT and ROOM_FLEET_SIGNER_KEY");
        }

        using var signer = X509Certificate2.CreateFromPemFile(signerCert, signerKey);
        long size;
        string sha256;
        await using (var stream = File.OpenRead(bundlePath))
        {
            size = stream.Length;
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
        }

        var rooms = CanaryRollout.RoomsOf(admin, group);
        if (rooms.Count == 0)
        {
            await error.WriteLineAsync($"roomctl: no room reports group '{group}'");
            return 1;
        }

        var id = $"rollout-{DateTimeOffset.UtcNow:yyyyMMddHHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        await output.WriteLineAsync($"{id}: version {version} to {rooms.Count} rooms of {group}, {canary} % canaries");
        var result = await new CanaryRollout(admin, signer, TimeProvider.System).RunAsync(id, new BundleRef(uri, size, sha256, version, compatible),
            rooms, canary, maxFailures, e => output.WriteLine(e switch
            {
                RolloutEvent.StageStarted s => $"{s.Stage}: {string.Join(", ", s.Rooms)}",
                RolloutEvent.RoomProgress p => $"  {p.Room} {Phase(p.Progress.Phase)} {p.Progress.Percent}%{(p.Progress.Message is { } msg ? " - " + msg : "")}",
                RolloutEvent.RoomFinished f => $"  {f.Room} {f.Outcome.ToString().ToLowerInvariant()}",
                RolloutEvent.Halted h => $"halted: {h.Reason}",
                _ => e.ToString(),
            }), cancellationToken);
        foreach (var r in rooms)
        {
            await admin.ClearRoomJobAsync(r, cancellationToken);
        }

        await output.WriteLineAsync(result.Halted ? $"rollout {id} halted" : $"rollout {id} done: {rooms.Count} rooms on {version}");
        return result.Halted ? 1 : 0;
    }

    private static string List(IEnumerable<FleetStatus> rooms)
    {
        var lines = rooms.OrderBy(s => s.Room, StringComparer.Ordinal).Select(Line).ToList();
        return lines.Count == 0 ? "no rooms" : string.Join('\n', lines);
    }

    private static string Line(FleetStatus s) =>
        $"{s.Room,-24} {(s.Online ? "online" : "offline"),-8} {s.Version ?? "?",-10} slot {s.BootedSlot ?? "?"}"
        + (s.Update is { } u ? $"  {u.JobId} {Phase(u.Phase)}{(u.Message is { Length: > 0 } m ? " - " + m : "")}" : "");

    private static string Phase(UpdatePhase p) => p switch
    {
        UpdatePhase.WaitingForReboot => "waiting-for-reboot",
        _ => p.ToString().ToLowerInvariant(),
    };
}
