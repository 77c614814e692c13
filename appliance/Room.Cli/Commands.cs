using System.Globalization;
using System.Text;
using System.Text.Json;
using Room.Bus;
using Room.Bus.Client;
using Tmds.DBus.Protocol;

namespace Room.Cli;

/// <summary>Every roomctl command: each maps to one D-Bus call or property read of roomd.</summary>
internal sealed class Commands(RoomBusClient client, TextWriter output, bool json, TextReader input)
{
    private const string CoreUsage = """
        usage: roomctl [--bus ADDRESS] [--json] COMMAND

        meeting
          status                          everything roomd publishes
          join URI                        join a meeting: meeting://server:8443/ID (or https://server:8443/meetings/ID);
                                          test-loopback://NAME/call is a test call with a simulated peer in roomd
          leave                           leave the current meeting
          mute on|off|toggle              microphones
          volume 0..100                   speaker volume
          watch                           print every change as it happens (Ctrl+C to stop)
          lobby                           who waits in the lobby of a meeting this room hosts
          admit ID | deny ID              let someone in from the lobby, or keep them out
        camera
          camera list                     cameras, the selected one marked
          camera select ID
          camera move PAN TILT ZOOM       absolute: degrees, degrees, 0..1
          camera nudge DPAN DTILT DZOOM   relative, clamped to the camera's range
          camera preset list|store|recall|delete [NAME]
          camera autoframing on|off
        devices                           every device with its health
        media                             encoders/decoders: chosen, and why the others are not
        media snapshot FILE               save the latest decoded call picture as JPEG
        pin check [PIN]                   check the admin PIN (read from stdin when not given: other users see arguments)
        admin
          admin                           settings, enrolment, whether a PIN is set
          admin pin set                   set the admin PIN: 6-12 digits read from stdin, never from the command line
                                          (root: a reset; otherwise needs --pin-stdin with the current PIN first)
          admin name NAME                 the room's name
          admin camera ID|- [PRESET]      default camera ("-": the first one) and the preset it recalls at start
          admin standby MINUTES           display standby, 0 (never)..1440
          admin volume 0..100             speaker volume at start
          admin language de|en            the panel's language
          admin time ZONE [NTP-SERVER...] time zone (Europe/Berlin) and up to 5 NTP servers (stored only)
          admin maintenance HH:MM MINUTES | off
          admin network dhcp [DNS...]     the wired interface by DHCP (DNS servers optional)
          admin network static ADDRESS/PREFIX [GATEWAY|-] [DNS...]   static IPv4 address, gateway ("-": none), DNS
          admin proxy URL | off           HTTP(S) proxy for roomd's own HTTP (http://HOST:PORT, no credentials)
          admin diagnostics [FILE]        support bundle (no secrets) to FILE or stdout
          admin reboot
          admin factory-reset --yes       forget settings, PIN and presets, then restart
          admin shell                     admin commands from stdin, one per line, on one bus connection
                                          ("unlock" takes the PIN from the next line; answers "ok ..." or "error ...")
        Admin commands need root, or --pin-stdin: the first line of stdin is the admin PIN, which unlocks an admin
        session on roomctl's own bus connection for this command only.
        enroll URL CODE                   enrol this box with a meeting server (key made here, kept in
                                          $ROOM_MEETING_KEY_DIR, default /var/lib/room/meeting-identity)
        calendar                          today's and tomorrow's agenda, the next meeting, the last sync
          calendar sync                   sync the calendar now
          calendar join ID                join an agenda entry now (its id from `calendar --json`)
          calendar leave|stay             answer the question whether to leave a meeting that has ended

        --bus ADDRESS  the bus roomd is on (default: $ROOM_BUS_ADDRESS, else the system bus)
        --json         machine-readable output
        --pin-stdin    (admin) read the admin PIN from the first line of stdin and unlock before the command
        """;

    public const string Usage = CoreUsage + "\n" + Fleet.Usage;

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public async Task<int> RunAsync(IReadOnlyList<string> w, CancellationToken cancellationToken)
    {
        switch (w)
        {
            case ["status"]:
                Print(await client.GetStatusAsync(), FormatStatus);
                return 0;
            case ["join", var uri]:
                await client.JoinAsync(uri);
                return Done($"joining {uri}");
            case ["leave"]:
                await client.LeaveAsync();
                return Done("left");
            case ["lobby"]:
                Print((await client.GetStatusAsync()).Meeting.Lobby, FormatLobby);
                return 0;
            case ["admit", var id]:
                await client.AdmitAsync(id);
                return Done($"admitted {id}");
            case ["deny", var id]:
                await client.DenyAsync(id);
                return Done($"denied {id}");
            case ["mute", "toggle"]:
            {
                var muted = (await client.GetStatusAsync()).Meeting.MicrophoneMuted;
                await client.SetMicrophoneMutedAsync(!muted);
                return Done(!muted ? "muted" : "unmuted");
            }

            case ["mute", var onOff]:
            {
                var muted = CommandLine.OnOff(onOff);
                await client.SetMicrophoneMutedAsync(muted);
                return Done(muted ? "muted" : "unmuted");
            }

            case ["volume", var v]:
                if (!uint.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var volume))
                {
                    throw new UsageException($"Volume must be a whole number 0..100, not '{v}'.");
                }

                await client.SetVolumeAsync(volume);
                return Done($"volume {volume}");
            case ["watch"]:
                return await WatchAsync(cancellationToken);
            case ["camera"] or ["camera", "list"]:
            {
                var camera = (await client.GetStatusAsync()).Camera;
                Print(camera, c => string.Join('\n', c.Cameras.Select(x => $"{(x.Id == c.Selected ? "*" : " ")} {x.Id}  {x.Name}")));
                return 0;
            }

            case ["camera", "select", var id]:
                await client.SelectCameraAsync(id);
                return Done($"selected {id}");
            case ["camera", "move", var p, var t, var z]:
                await client.MoveToAsync(CommandLine.Number(p, "pan"), CommandLine.Number(t, "tilt"), CommandLine.Number(z, "zoom"));
                return await PositionAsync();
            case ["camera", "nudge", var p, var t, var z]:
                await client.MoveByAsync(CommandLine.Number(p, "pan"), CommandLine.Number(t, "tilt"), CommandLine.Number(z, "zoom"));
                return await PositionAsync();
            case ["camera", "preset", "list"] or ["camera", "preset"]:
            {
                var camera = (await client.GetStatusAsync()).Camera;
                Print(camera.Presets, p => p.Count == 0 ? "(no presets)" : string.Join('\n', p));
                return 0;
            }

            case ["camera", "preset", "store", var name]:
                await client.StorePresetAsync(name);
                return Done($"stored preset {name}");
            case ["camera", "preset", "recall", var name]:
                await client.RecallPresetAsync(name);
                return await PositionAsync();
            case ["camera", "preset", "delete", var name]:
                await client.DeletePresetAsync(name);
                return Done($"deleted preset {name}");
            case ["camera", "autoframing", var onOff]:
            {
                var on = CommandLine.OnOff(onOff);
                await client.SetAutoFramingAsync(on);
                return Done($"auto-framing {(on ? "on" : "off")}");
            }

            case ["devices"]:
                Print((await client.GetStatusAsync()).Devices, FormatDevices);
                return 0;
            case ["media"]:
            {
                var media = (await client.GetStatusAsync()).Media;
                var report = await client.GetMediaReportAsync();
                Print(new { media, report }, _ =>
                    (media.Active ? $"in use: {media.VideoEncoder}\ndecoder: {media.VideoDecoder}\naudio: {media.Audio}\nencryption: {media.Encryption}\ntransport: {media.Transport}\n\n" : "no media flowing (not in a call)\n\n")
                    + (media.Error.Length > 0 ? $"error: {media.Error}\n\n" : "")
                    + report);
                return 0;
            }

            case ["media", "snapshot", var file]:
            {
                var jpeg = await client.SnapshotAsync();
                await File.WriteAllBytesAsync(file, jpeg, cancellationToken);
                return Done($"saved {jpeg.Length} bytes to {file}");
            }

            case ["pin", "check", ..] when w.Count <= 3:
            {
                // From stdin without the argument: a PIN on the command line is visible to every local user (ps).
                var pin = w.Count == 3 ? w[2] : await ReadSecretAsync(input, "admin PIN");
                var ok = await client.CheckAdminPinAsync(pin);
                Print(new { valid = ok }, _ => ok ? "PIN accepted" : "PIN refused");
                return ok ? 0 : 1;
            }

            case ["admin", ..]:
                return await AdminAsync(w.Skip(1).ToList(), input, cancellationToken);

            case ["calendar"]:
                Print((await client.GetStatusAsync()).Calendar, FormatCalendar);
                return 0;
            case ["calendar", "sync"]:
            {
                await client.SyncCalendarAsync();
                var c = (await client.GetStatusAsync()).Calendar;
                Print(c, FormatCalendar);
                return c.SyncState == "ok" ? 0 : 1;
            }

            case ["calendar", "join", var id]:
                await client.JoinCalendarEntryAsync(id);
                return Done($"joining {id}");
            case ["calendar", "leave" or "stay"]:
                await client.AnswerLeavePromptAsync(w[1] == "leave");
                return Done(w[1] == "leave" ? "leaving" : "staying");
            default:
                throw new UsageException(w.Count == 0 ? "No command given." : $"Unknown command '{string.Join(' ', w)}'.");
        }
    }

    /// <summary>Read the admin PIN from stdin's first line and unlock before an admin command (set by --pin-stdin).</summary>
    public bool PinFromStdin { get; init; }

    private async Task<int> AdminAsync(List<string> w, TextReader input, CancellationToken cancellationToken)
    {
        if (PinFromStdin && w is not ["shell"])
        {
            await client.UnlockAsync(await ReadSecretAsync(input, "admin PIN"));
        }

        switch (w)
        {
            case []:
            {
                var a = (await client.GetStatusAsync()).Admin;
                Print(a, FormatAdmin);
                return 0;
            }

            case ["pin", "set"]:
                await client.SetPinAsync(await ReadSecretAsync(input, "new PIN"));
                return Done("PIN set; every admin session ended");
            case ["name", .. var name] when name.Count > 0:
                await client.SetRoomNameAsync(string.Join(' ', name));
                return Done($"room name {string.Join(' ', name)}");
            case ["camera", var id]:
                await client.SetDefaultCameraAsync(id == "-" ? "" : id, "");
                return Done($"default camera {id}");
            case ["camera", var id, var preset]:
                await client.SetDefaultCameraAsync(id == "-" ? "" : id, preset);
                return Done($"default camera {id}, preset {preset}");
            case ["standby", var m]:
                await client.SetDisplayStandbyAsync(Whole(m, "Minutes"));
                return Done($"display standby {m} min");
            case ["volume", var v]:
                await client.SetDefaultVolumeAsync(Whole(v, "Volume"));
                return Done($"default volume {v}");
            case ["language", var l]:
                await client.SetLanguageAsync(l);
                return Done($"language {l}");
            case ["time", var zone, .. var ntp]:
                await client.SetTimeAsync(zone, ntp);
                return Done($"time zone {zone}, NTP {(ntp.Count == 0 ? "-" : string.Join(' ', ntp))} ({(await client.GetStatusAsync()).Admin.TimeStatus})");
            case ["maintenance", "off"]:
                await client.SetMaintenanceWindowAsync("", 0);
                return Done("no maintenance window");
            case ["maintenance", var start, var minutes]:
                await client.SetMaintenanceWindowAsync(start, Whole(minutes, "Minutes"));
                return Done($"maintenance window {start} for {minutes} min");
            case ["network", "dhcp", .. var dns]:
                await client.SetNetworkAsync("dhcp", "", 0, "", dns);
                return Done($"network: DHCP{(dns.Count == 0 ? "" : ", DNS " + string.Join(' ', dns))}");
            case ["network", "static", var cidr, .. var rest]:
            {
                var slash = cidr.IndexOf('/', StringComparison.Ordinal);
                if (slash < 0)
                {
                    throw new UsageException($"A static address is ADDRESS/PREFIX (192.0.2.10/24), not '{cidr}'.");
                }

                var gateway = rest.Count > 0 && rest[0] != "-" ? rest[0] : "";
                var dns = rest.Skip(1).ToList();
                await client.SetNetworkAsync("static", cidr[..slash], Whole(cidr[(slash + 1)..], "The prefix"), gateway, dns);
                return Done($"network: {cidr}, gateway {(gateway.Length == 0 ? "-" : gateway)}{(dns.Count == 0 ? "" : ", DNS " + string.Join(' ', dns))}");
            }

            case ["proxy", "off"]:
                await client.SetProxyAsync("");
                return Done("no proxy");
            case ["proxy", var url]:
                await client.SetProxyAsync(url);
                return Done($"proxy {url}");
            case ["diagnostics"]:
                output.Write(await client.GetDiagnosticsAsync());
                return 0;
            case ["diagnostics", var file]:
            {
                var bundle = await client.GetDiagnosticsAsync();
                await File.WriteAllTextAsync(file, bundle, cancellationToken);
                return Done($"saved diagnostics to {file}");
            }

            case ["reboot"]:
                await client.RebootAsync();
                return Done("rebooting");
            case ["factory-reset", "--yes"]:
                await client.FactoryResetAsync();
                return Done("factory reset; restarting");
            case ["factory-reset"]:
                throw new UsageException("factory-reset forgets settings, PIN and presets: confirm with --yes.");
            case ["lock"]:
                await client.LockAsync();
                return Done("admin session ended");
            case ["shell"]:
                return await ShellAsync(input, cancellationToken);
            default:
                throw new UsageException($"Unknown admin command '{string.Join(' ', w)}'.");
        }
    }

    /// <summary>
    /// Admin commands from stdin on this one connection (so that an admin session opened by "unlock" serves the commands
    /// after it): one answer line per command, "ok ..." or "error NAME: message". Ends at end of input.
    /// </summary>
    private async Task<int> ShellAsync(TextReader input, CancellationToken cancellationToken)
    {
        while (await input.ReadLineAsync(cancellationToken) is { } line)
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (words.Count == 0)
            {
                continue;
            }

            try
            {
                if (words is ["unlock"])
                {
                    var until = await client.UnlockAsync(await ReadSecretAsync(input, "admin PIN"));
                    output.WriteLine($"ok unlocked until {until:u}");
                }
                else
                {
                    var buffer = new StringWriter();
                    var one = new Commands(client, buffer, json: false, input);
                    await one.AdminAsync(words, input, cancellationToken);
                    output.WriteLine("ok " + buffer.ToString().Trim().Replace('\n', ' '));
                }
            }
            catch (RoomBusException ex)
            {
                output.WriteLine($"error {ex.ErrorName}: {ex.Message}");
            }
            catch (UsageException ex)
            {
                output.WriteLine($"error usage: {ex.Message}");
            }

            output.Flush();
        }

        return 0;
    }

    private static async Task<string> ReadSecretAsync(TextReader input, string what) =>
        (await input.ReadLineAsync())?.Trim() is { Length: > 0 } line
            ? line
            : throw new UsageException($"Expected the {what} on a line of stdin.");

    private static uint Whole(string text, string what) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new UsageException($"{what} must be a whole number, not '{text}'.");

    private static string FormatAdmin(AdminStatus a) =>
        $"""
        room name   {a.RoomName}
        camera      {(a.DefaultCamera.Length == 0 ? "(first)" : a.DefaultCamera)}{(a.DefaultPreset.Length > 0 ? "  preset " + a.DefaultPreset : "")}
        standby     {a.DisplayStandbyMinutes} min
        volume      {a.DefaultVolume}
        language    {a.Language}
        time zone   {(a.TimeZone.Length == 0 ? "(system)" : a.TimeZone)}  NTP {(a.NtpServers.Count == 0 ? "-" : string.Join(' ', a.NtpServers))}  ({(a.TimeStatus.Length == 0 ? (a.TimeSettingsApplied ? "applied" : "not applied") : a.TimeStatus)})
        network     {FormatNetwork(a.Network)}
        proxy       {(a.Proxy.Length == 0 ? "none" : a.Proxy)}
        maintenance {(a.MaintenanceStart.Length == 0 ? "none" : $"{a.MaintenanceStart} for {a.MaintenanceMinutes} min")}
        enrolment   {a.EnrolmentStatus}
        admin PIN   {(a.PinSet ? "set" : "not set")}  (sessions last {a.SessionSeconds} s)
        """;

    private static string FormatNetwork(NetworkStatus n) =>
        n.Service.Length == 0
            ? "not managed by roomd"
            : $"{n.Interface} via {n.Service}: {(n.Mode.Length == 0 ? "image defaults" : n.Mode)}"
              + (n.Address.Length > 0 ? $" {n.Address}" : "")
              + (n.Gateway.Length > 0 ? $" gateway {n.Gateway}" : "")
              + (n.Dns.Count > 0 ? $" DNS {string.Join(' ', n.Dns)}" : "")
              + $"; kernel has {(n.Addresses.Count == 0 ? "no IPv4 address" : string.Join(' ', n.Addresses))}";

    private async Task<int> PositionAsync()
    {
        var c = (await client.GetStatusAsync()).Camera;
        Print(new { pan = c.Pan, tilt = c.Tilt, zoom = c.Zoom }, _ => $"pan {c.Pan:0.##}°  tilt {c.Tilt:0.##}°  zoom {c.Zoom:0.##}");
        return 0;
    }

    private async Task<int> WatchAsync(CancellationToken cancellationToken)
    {
        // The banner comes first and means "from here on nothing is missed": it is printed once both subscriptions
        // are in place, and a change that arrives before it (roomd's addresses change at any time) waits behind it.
        var gate = new Lock();
        List<string>? early = [];
        void Emit(string line)
        {
            lock (gate)
            {
                if (early is not null)
                {
                    early.Add(line);
                    return;
                }

                output.WriteLine(line);
                output.Flush();
            }
        }

        using var watch = await client.WatchAsync(
            (iface, changed) =>
            {
                if (json)
                {
                    Emit(JsonSerializer.Serialize(new { @interface = iface, changed = changed.ToDictionary(kv => kv.Key, kv => ToPlain(kv.Value)) }));
                }
                else
                {
                    foreach (var (name, value) in changed)
                    {
                        Emit($"{iface[(iface.LastIndexOf('.') + 1)..]}.{name} = {Render(value)}");
                    }
                }
            },
            reason => Emit(json ? JsonSerializer.Serialize(new { signal = "Failed", reason }) : $"Meeting.Failed: {reason}"));
        using var presence = await client.WatchPresenceAsync(up =>
            Emit(json ? JsonSerializer.Serialize(new { roomd = up ? "up" : "down" }) : $"roomd {(up ? "is back" : "went away")}"));
        lock (gate)
        {
            output.WriteLine(json ? JsonSerializer.Serialize(new { watching = true }) : "watching roomd (Ctrl+C to stop)");
            foreach (var line in early)
            {
                output.WriteLine(line);
            }

            early = null;
            output.Flush();
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    private int Done(string message)
    {
        Print(new { ok = true, message }, _ => message);
        return 0;
    }

    private void Print<T>(T value, Func<T, string> human) =>
        output.WriteLine(json ? JsonSerializer.Serialize(value, s_json) : human(value));

    private static string FormatLobby(IReadOnlyList<LobbyEntry> lobby)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(lobby.Count == 0 ? "lobby       nobody waiting" : "lobby       waiting:");
        foreach (var w in lobby)
        {
            sb.AppendLine($"  - {w.Name}{(w.Kind == "guest" ? $" (guest, invited by {w.InvitedBy})" : "")}  [{w.Id}]");
        }

        return sb.ToString();
    }

    private static string FormatStatus(RoomStatus s)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"room        {s.System.RoomName}  (roomd {s.System.Version} on {s.System.Hostname})");
        sb.AppendLine($"network     {(s.System.Addresses.Count == 0 ? "no addresses" : string.Join(", ", s.System.Addresses))}");
        sb.AppendLine($"update      {s.System.UpdateStatus}");
        sb.AppendLine($"enrolment   {s.Admin.EnrolmentStatus}  admin PIN {(s.Admin.PinSet ? "set" : "not set")}");
        sb.AppendLine($"meeting     {s.Meeting.State}{(s.Meeting.Uri.Length > 0 ? "  " + s.Meeting.Uri : "")}"
            + (s.Meeting.Uri.StartsWith("test-", StringComparison.Ordinal) ? "  (a test call, not a meeting)" : ""));
        if (s.Meeting.StartedAt is { } started)
        {
            sb.AppendLine($"since       {started:yyyy-MM-dd HH:mm:ss}Z");
        }

        if (s.Meeting.SecurityCode.Length > 0)
        {
            sb.AppendLine($"security    {s.Meeting.SecurityCode}");
        }

        if (s.Meeting.LastError.Length > 0)
        {
            sb.AppendLine($"last error  {s.Meeting.LastError}");
        }

        sb.AppendLine($"microphone  {(s.Meeting.MicrophoneMuted ? "muted" : "live")}");
        sb.AppendLine($"volume      {s.Meeting.Volume}");
        foreach (var p in s.Meeting.Participants)
        {
            sb.AppendLine($"  - {p.Name}{(p.Kind == "guest" ? $" (guest, invited by {p.InvitedBy})" : "")}{(p.Muted ? " (muted)" : "")}");
        }

        if (s.Meeting.Lobby.Count > 0)
        {
            sb.Append(FormatLobby(s.Meeting.Lobby));
        }

        var c = s.Camera;
        sb.AppendLine($"camera      {c.Selected}  pan {c.Pan:0.##}°  tilt {c.Tilt:0.##}°  zoom {c.Zoom:0.##}{(c.AutoFraming ? "  auto-framing" : "")}");
        sb.AppendLine($"limits      pan {c.PanMin:0.##}..{c.PanMax:0.##}°  tilt {c.TiltMin:0.##}..{c.TiltMax:0.##}°  zoom 0..1");
        sb.AppendLine($"cameras     {(c.Cameras.Count == 0 ? "none" : string.Join(", ", c.Cameras.Select(x => $"{x.Id} ({x.Name})")))}");
        sb.AppendLine($"presets     {(c.Presets.Count == 0 ? "-" : string.Join(", ", c.Presets))}");
        var m = s.Media;
        sb.AppendLine(m.Active
            ? $"media       {m.Camera}: {m.VideoEncoder} / {m.VideoDecoder} / {m.Audio}; {m.Encryption}; {m.Transport}"
            : "media       idle (no call)");
        if (m.Error.Length > 0)
        {
            sb.AppendLine($"media error {m.Error}");
        }

        var unhealthy = s.Devices.Where(d => d.Health != "ok").ToList();
        sb.AppendLine($"devices     {s.Devices.Count} ({(unhealthy.Count == 0 ? "all ok" : string.Join(", ", unhealthy.Select(d => $"{d.Id} {d.Health}")))})");
        foreach (var u in s.Upcoming.Take(3))
        {
            sb.AppendLine($"next        {u.Start:HH:mm}-{u.End:HH:mm} {u.Title}");
        }

        sb.AppendLine($"calendar    {s.Calendar.SyncState}{(s.Calendar.LastSync is { } ls ? $", last sync {ls.ToLocalTime():yyyy-MM-dd HH:mm}" : "")}{(s.Calendar.SyncError.Length > 0 ? " - " + s.Calendar.SyncError : "")}");
        var up = s.Update;
        sb.AppendLine($"update      {up.State}{(up.JobId.Length > 0 ? " " + up.JobId : "")}{(up.State is "downloading" or "installing" ? $" {up.Progress}%" : "")}{(up.Message.Length > 0 ? " - " + up.Message : "")}");

        return sb.ToString().TrimEnd();
    }

    internal static string FormatCalendar(CalendarStatus c)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"sync        {c.SyncState}{(c.LastSync is { } t ? $", last {t.ToLocalTime():yyyy-MM-dd HH:mm}" : ", never")}");
        if (c.SyncError.Length > 0)
        {
            sb.AppendLine($"sync error  {c.SyncError}");
        }

        if (c.LeavePrompt is { } p)
        {
            sb.AppendLine($"asking      '{p.Title}' has ended but others are still in the call: roomctl calendar leave|stay");
        }

        sb.AppendLine(c.Next is { } n ? $"next        {n.Start.ToLocalTime():HH:mm} {n.Title}{Where(n)}" : "next        none");
        foreach (var (label, list) in new[] { ("today", c.Today), ("tomorrow", c.Tomorrow) })
        {
            sb.AppendLine(list.Count == 0 ? $"{label,-12}no meetings" : label);
            foreach (var e in list)
            {
                var when = e.AllDay ? "all day    " : $"{e.Start.ToLocalTime():HH:mm}-{e.End.ToLocalTime():HH:mm}";
                sb.AppendLine($"  {when} {e.Title}{Where(e)}");
            }
        }

        return sb.ToString().TrimEnd();

        static string Where(AgendaEntry e) => e.Provider == "none" ? "" : e.Joinable ? $"  [{e.Provider}, joinable: {e.Id}]" : $"  [{e.Provider}]";
    }

    private static string FormatDevices(IReadOnlyList<DeviceEntry> devices)
    {
        if (devices.Count == 0)
        {
            return "(no devices found)";
        }

        var sb = new StringBuilder();
        foreach (var d in devices)
        {
            sb.AppendLine($"{d.Kind,-10} {d.Health,-8} {d.Id}  {d.Name} [{d.Driver}]{(d.HealthDetail.Length > 0 ? " - " + d.HealthDetail : "")}");
            foreach (var (k, v) in d.Capabilities)
            {
                sb.AppendLine($"{"",-20}{k}: {v}");
            }
        }

        return sb.ToString().TrimEnd();
    }

    private static string Render(VariantValue v) => v.Type switch
    {
        VariantValueType.String => $"\"{v.GetString()}\"",
        _ => JsonSerializer.Serialize(ToPlain(v)),
    };

    /// <summary>A D-Bus value as plain CLR values for JSON.</summary>
    internal static object? ToPlain(VariantValue v) => v.Type switch
    {
        VariantValueType.String => v.GetString(),
        VariantValueType.Bool => v.GetBool(),
        VariantValueType.UInt32 => v.GetUInt32(),
        VariantValueType.Int32 => v.GetInt32(),
        VariantValueType.Int64 => v.GetInt64(),
        VariantValueType.UInt64 => v.GetUInt64(),
        VariantValueType.Double => v.GetDouble(),
        VariantValueType.Byte => v.GetByte(),
        VariantValueType.Array => Enumerable.Range(0, v.Count).Select(i => ToPlain(v.GetItem(i))).ToArray(),
        VariantValueType.Struct => Enumerable.Range(0, v.Count).Select(i => ToPlain(v.GetItem(i))).ToArray(),
        VariantValueType.Dictionary => Enumerable.Range(0, v.Count).Select(v.GetDictionaryEntry)
            .ToDictionary(e => ToPlain(e.Key)?.ToString() ?? "", e => ToPlain(e.Value)),
        VariantValueType.Variant => ToPlain(v.GetVariantValue()),
        _ => v.ToString(),
    };
}
