using Tmds.DBus.Protocol;

namespace Room.Bus.Client;

/// <summary>
/// A client of roomd's D-Bus API, for roomctl and the touch panel. Calls fail with <see cref="RoomBusException"/>
/// carrying roomd's error name; changes arrive as PropertiesChanged through <see cref="WatchAsync"/>.
/// </summary>
public sealed class RoomBusClient : IDisposable
{
    private readonly DBusConnection _connection;

    private RoomBusClient(DBusConnection connection) => _connection = connection;

    /// <summary>Connects to the bus at <paramref name="address"/>, or to the system bus when null.</summary>
    public static async Task<RoomBusClient> ConnectAsync(string? address, CancellationToken cancellationToken = default)
    {
        var connection = new DBusConnection(new DBusConnectionOptions(address ?? DBusAddress.System!) { AutoConnect = false });
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(cancellationToken);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new RoomBusClient(connection);
    }

    /// <summary>The address roomctl and the panel use: ROOM_BUS_ADDRESS, else the system bus.</summary>
    public static string? DefaultAddress => Environment.GetEnvironmentVariable("ROOM_BUS_ADDRESS") is { Length: > 0 } a ? a : null;

    public void Dispose() => _connection.Dispose();

    /// <summary>Completes when the bus connection closes (the bus went away, or this client was disposed).</summary>
    public async Task DisconnectedAsync() => await _connection.DisconnectedAsync();

    // Meeting
    public Task JoinAsync(string uri) => CallAsync(BusNames.Meeting, "Join", "s", uri);

    public Task LeaveAsync() => CallAsync(BusNames.Meeting, "Leave", "");

    public Task SetMicrophoneMutedAsync(bool muted) => CallAsync(BusNames.Meeting, "SetMicrophoneMuted", "b", muted);

    public Task SetVolumeAsync(uint volume) => CallAsync(BusNames.Meeting, "SetVolume", "u", volume);

    /// <summary>Lets someone waiting in the lobby in (an id from <see cref="MeetingStatus.Lobby"/>).</summary>
    public Task AdmitAsync(string id) => CallAsync(BusNames.Meeting, "Admit", "s", id);

    /// <summary>Keeps someone waiting in the lobby out.</summary>
    public Task DenyAsync(string id) => CallAsync(BusNames.Meeting, "Deny", "s", id);

    // Camera
    public Task SelectCameraAsync(string id) => CallAsync(BusNames.Camera, "Select", "s", id);

    public Task MoveToAsync(double pan, double tilt, double zoom) => CallAsync(BusNames.Camera, "MoveTo", "ddd", pan, tilt, zoom);

    public Task MoveByAsync(double pan, double tilt, double zoom) => CallAsync(BusNames.Camera, "MoveBy", "ddd", pan, tilt, zoom);

    public Task StorePresetAsync(string name) => CallAsync(BusNames.Camera, "StorePreset", "s", name);

    public Task RecallPresetAsync(string name) => CallAsync(BusNames.Camera, "RecallPreset", "s", name);

    public Task DeletePresetAsync(string name) => CallAsync(BusNames.Camera, "DeletePreset", "s", name);

    public Task SetAutoFramingAsync(bool enabled) => CallAsync(BusNames.Camera, "SetAutoFraming", "b", enabled);

    // Media
    public async Task<byte[]> SnapshotAsync() => (byte[])(await CallAsync(BusNames.Media, "Snapshot", ""))!;

    public async Task<string> GetMediaReportAsync() => (string)(await CallAsync(BusNames.Media, "GetReport", ""))!;

    // System
    public Task SyncCalendarAsync() => CallAsync(BusNames.Calendar, "Sync", "");

    public Task JoinCalendarEntryAsync(string id) => CallAsync(BusNames.Calendar, "Join", "s", id);

    public Task AnswerLeavePromptAsync(bool leave) => CallAsync(BusNames.Calendar, "AnswerLeavePrompt", "b", leave);

    public async Task<bool> CheckAdminPinAsync(string pin) => (bool)(await CallAsync(BusNames.System, "CheckAdminPin", "s", pin))!;

    // Admin (see the contract: root, or an admin session opened on this connection with UnlockAsync)
    public async Task<DateTimeOffset> UnlockAsync(string pin) =>
        DateTimeOffset.FromUnixTimeSeconds((long)(await CallAsync(BusNames.Admin, "Unlock", "s", pin))!);

    public Task LockAsync() => CallAsync(BusNames.Admin, "Lock", "");

    public Task SetPinAsync(string pin) => CallAsync(BusNames.Admin, "SetPin", "s", pin);

    public Task SetRoomNameAsync(string name) => CallAsync(BusNames.Admin, "SetRoomName", "s", name);

    public Task SetDefaultCameraAsync(string id, string preset) => CallAsync(BusNames.Admin, "SetDefaultCamera", "ss", id, preset);

    public Task SetDisplayStandbyAsync(uint minutes) => CallAsync(BusNames.Admin, "SetDisplayStandby", "u", minutes);

    public Task SetDefaultVolumeAsync(uint volume) => CallAsync(BusNames.Admin, "SetDefaultVolume", "u", volume);

    public Task SetLanguageAsync(string language) => CallAsync(BusNames.Admin, "SetLanguage", "s", language);

    public Task SetTimeAsync(string zone, IReadOnlyList<string> ntpServers) => CallAsync(BusNames.Admin, "SetTime", "sas", zone, ntpServers.ToArray());

    public Task SetMaintenanceWindowAsync(string start, uint minutes) => CallAsync(BusNames.Admin, "SetMaintenanceWindow", "su", start, minutes);

    public Task SetNetworkAsync(string mode, string address, uint prefix, string gateway, IReadOnlyList<string> dns) =>
        CallAsync(BusNames.Admin, "SetNetwork", "ssusas", mode, address, prefix, gateway, dns.ToArray());

    public Task SetProxyAsync(string url) => CallAsync(BusNames.Admin, "SetProxy", "s", url);

    public async Task<string> GetDiagnosticsAsync() => (string)(await CallAsync(BusNames.Admin, "GetDiagnostics", ""))!;

    public Task RebootAsync() => CallAsync(BusNames.Admin, "Reboot", "");

    public Task FactoryResetAsync() => CallAsync(BusNames.Admin, "FactoryReset", "");

    /// <summary>Reads every property of every roomd interface.</summary>
    public async Task<RoomStatus> GetStatusAsync()
    {
        var status = RoomStatus.Empty;
        foreach (var iface in BusNames.Interfaces)
        {
            status = status.Apply(iface, await GetAllAsync(iface));
        }

        return status;
    }

    public Task<Dictionary<string, VariantValue>> GetAllAsync(string interfaceName) =>
        Translate(() => _connection.CallMethodAsync(
            BuildGetAll(interfaceName),
            static (Message m, object? _) => m.GetBodyReader().ReadDictionaryOfStringToVariantValue()));

    /// <summary>
    /// Calls <paramref name="onChange"/> with (interface, changed properties) for every PropertiesChanged roomd
    /// emits, and <paramref name="onFailed"/> for each Meeting.Failed signal. Dispose the result to stop.
    /// </summary>
    public async Task<IDisposable> WatchAsync(
        Action<string, IReadOnlyDictionary<string, VariantValue>> onChange,
        Action<string>? onFailed = null)
    {
        var props = await _connection.AddMatchAsync(
            Rule(BusNames.Properties, "PropertiesChanged"),
            static (Message m, object? _) =>
            {
                var r = m.GetBodyReader();
                var iface = r.ReadString();
                IReadOnlyDictionary<string, VariantValue> changed = r.ReadDictionaryOfStringToVariantValue();
                return (iface, changed);
            },
            (Notification<(string Iface, IReadOnlyDictionary<string, VariantValue> Changed)> n) =>
            {
                if (n.HasValue)
                {
                    onChange(n.Value.Iface, n.Value.Changed);
                }
            },
            false,
            ObserverFlags.None,
            null);
        IDisposable? failed = null;
        if (onFailed is not null)
        {
            failed = await _connection.AddMatchAsync(
                Rule(BusNames.Meeting, "Failed"),
                static (Message m, object? _) => m.GetBodyReader().ReadString(),
                (Notification<string> n) =>
                {
                    if (n.HasValue)
                    {
                        onFailed(n.Value);
                    }
                },
                false,
                ObserverFlags.None,
                null);
        }

        return new Both(props, failed);
    }

    /// <summary>
    /// Calls <paramref name="onOwner"/> with true when roomd (re)appears on the bus and false when it goes away.
    /// </summary>
    public async Task<IDisposable> WatchPresenceAsync(Action<bool> onOwner) =>
        await _connection.AddMatchAsync(
            new MatchRule { Type = MessageType.Signal, Sender = "org.freedesktop.DBus", Interface = "org.freedesktop.DBus", Member = "NameOwnerChanged", Arg0 = BusNames.Service },
            static (Message m, object? _) =>
            {
                var r = m.GetBodyReader();
                r.ReadString();
                r.ReadString();
                return r.ReadString();
            },
            (Notification<string> n) =>
            {
                if (n.HasValue)
                {
                    onOwner(n.Value.Length > 0);
                }
            },
            false,
            ObserverFlags.None,
            null);

    /// <summary>True when roomd currently owns its name on this bus.</summary>
    public Task<bool> IsRoomdPresentAsync() =>
        _connection.CallMethodAsync(BuildNameHasOwner(), static (Message m, object? _) => m.GetBodyReader().ReadBool());

    /// <summary>Calls a roomd method with basic arguments; returns its single out value, if any.</summary>
    public Task<object?> CallAsync(string interfaceName, string member, string signature, params object[] args)
    {
        var method = BusContract.Interfaces[interfaceName].Methods[member];
        var message = BuildCall(interfaceName, member, signature, args);
        return Translate(() => _connection.CallMethodAsync(
            message,
            (Message m, object? _) => method.OutSignature switch
            {
                "" => null,
                "b" => (object)m.GetBodyReader().ReadBool(),
                "s" => m.GetBodyReader().ReadString(),
                "u" => m.GetBodyReader().ReadUInt32(),
                "x" => m.GetBodyReader().ReadInt64(),
                "ay" => m.GetBodyReader().ReadArrayOfByte(),
                var o => throw new InvalidOperationException($"Out signature '{o}' is not supported."),
            }));
    }

    private static MatchRule Rule(string interfaceName, string member) =>
        new() { Type = MessageType.Signal, Sender = BusNames.Service, Path = BusNames.ObjectPath, Interface = interfaceName, Member = member };

    private MessageBuffer BuildGetAll(string interfaceName)
    {
        using var writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(BusNames.Service, BusNames.ObjectPath, BusNames.Properties, "GetAll", "s");
        writer.WriteString(interfaceName);
        return writer.CreateMessage();
    }

    private MessageBuffer BuildNameHasOwner()
    {
        using var writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s");
        writer.WriteString(BusNames.Service);
        return writer.CreateMessage();
    }

    private MessageBuffer BuildCall(string interfaceName, string member, string signature, object[] args)
    {
        // Basic types are one character each; "as" is the one container the contract takes.
        var types = new List<string>();
        for (var i = 0; i < signature.Length; i++)
        {
            types.Add(signature[i] == 'a' && i + 1 < signature.Length ? signature.Substring(i++, 2) : signature[i].ToString());
        }

        if (args.Length != types.Count)
        {
            throw new ArgumentException($"{member} takes {types.Count} arguments.", nameof(args));
        }

        using var writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(BusNames.Service, BusNames.ObjectPath, interfaceName, member, signature.Length == 0 ? null : signature);
        for (var i = 0; i < types.Count; i++)
        {
            switch (types[i], args[i])
            {
                case ("as", string[] strings): writer.WriteArray(strings); break;
                case ("s", string s): writer.WriteString(s); break;
                case ("b", bool b): writer.WriteBool(b); break;
                case ("u", uint u): writer.WriteUInt32(u); break;
                case ("i", int n): writer.WriteInt32(n); break;
                case ("x", long x): writer.WriteInt64(x); break;
                case ("d", double d): writer.WriteDouble(d); break;
                default: throw new ArgumentException($"Argument {i} does not match '{types[i]}'.", nameof(args));
            }
        }

        return writer.CreateMessage();
    }

    private static async Task<T> Translate<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (DBusErrorReplyException ex)
        {
            throw new RoomBusException(ex.ErrorName, ex.ErrorMessage);
        }
    }

    private sealed class Both(IDisposable a, IDisposable? b) : IDisposable
    {
        public void Dispose()
        {
            a.Dispose();
            b?.Dispose();
        }
    }
}
