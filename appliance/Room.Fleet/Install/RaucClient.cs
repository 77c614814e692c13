using Room.Fleet.Channel;
using Tmds.DBus.Protocol;

namespace Room.Fleet.Install;

/// <summary>RAUC refused or failed an install; <see cref="Message"/> is its LastError (or the D-Bus error).</summary>
public sealed class RaucInstallException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>RAUC's progress: percent, message, nesting depth (its Progress property, (isi)).</summary>
public sealed record RaucProgress(int Percent, string Message, int Depth);

/// <summary>
/// A client of RAUC's D-Bus API (de.pengutronix.rauc, object /, interface de.pengutronix.rauc.Installer; RAUC 1.8):
/// installs a bundle into the inactive slot and reports its progress (InstallBundle, Progress, Completed, LastError),
/// reads the slots (GetSlotStatus, BootSlot), and marks slots good or bad (Mark). RAUC checks the bundle's signature
/// against its keyring, its compatible and (image-build's pre-install handler) its whole payload before a slot is written.
/// </summary>
public sealed class RaucClient : IDisposable
{
    private const string Service = "de.pengutronix.rauc";
    private const string ObjectPath = "/";
    private const string Installer = "de.pengutronix.rauc.Installer";
    private readonly DBusConnection _connection;
    private readonly SemaphoreSlim _installing = new(1, 1);

    private RaucClient(DBusConnection connection) => _connection = connection;

    /// <summary>Connects to the bus RAUC serves on (<paramref name="address"/>; null: the system bus).</summary>
    public static async Task<RaucClient> ConnectAsync(string? address, CancellationToken cancellationToken = default)
    {
        var connection = new DBusConnection(new DBusConnectionOptions(address ?? DBusAddress.System!) { AutoConnect = false });
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new RaucClient(connection);
    }

    /// <summary>
    /// Installs <paramref name="bundle"/> (a local file) into the inactive slot; <paramref name="progress"/> gets RAUC's
    /// progress as it goes. Returns when RAUC reports Completed 0; throws <see cref="RaucInstallException"/> with RAUC's
    /// LastError otherwise. Cancelling stops waiting (RAUC has no cancel: the install goes on or fails by itself).
    /// </summary>
    public async Task InstallAsync(string bundle, Action<RaucProgress>? progress, CancellationToken cancellationToken)
    {
        await _installing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var completed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var onCompleted = await _connection.AddMatchAsync(
                new MatchRule { Type = MessageType.Signal, Sender = Service, Path = ObjectPath, Interface = Installer, Member = "Completed" },
                static (Message m, object? _) => m.GetBodyReader().ReadInt32(),
                (Notification<int> n) =>
                {
                    if (n.HasValue)
                    {
                        completed.TrySetResult(n.Value);
                    }
                    else
                    {
                        completed.TrySetException(new RaucInstallException("the bus connection to RAUC closed during the install"));
                    }
                },
                false,
                ObserverFlags.None,
                null).ConfigureAwait(false);
            using var onProgress = await _connection.AddMatchAsync(
                new MatchRule { Type = MessageType.Signal, Sender = Service, Path = ObjectPath, Interface = "org.freedesktop.DBus.Properties", Member = "PropertiesChanged", Arg0 = Installer },
                static (Message m, object? _) =>
                {
                    var r = m.GetBodyReader();
                    r.ReadString();
                    var changed = r.ReadDictionaryOfStringToVariantValue();
                    return changed.TryGetValue("Progress", out var p) ? ToProgress(p) : null;
                },
                (Notification<RaucProgress?> n) =>
                {
                    if (n.HasValue && n.Value is { } p)
                    {
                        progress?.Invoke(p);
                    }
                },
                false,
                ObserverFlags.None,
                null).ConfigureAwait(false);

            try
            {
                await _connection.CallMethodAsync(BuildInstall(bundle)).ConfigureAwait(false);
            }
            catch (DBusErrorReplyException e)
            {
                throw new RaucInstallException($"RAUC refused to start the install: {e.ErrorMessage}", e);
            }

            var result = await completed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (result != 0)
            {
                var lastError = await GetStringPropertyAsync("LastError").ConfigureAwait(false);
                throw new RaucInstallException(lastError.Length > 0 ? lastError : $"RAUC's install failed (result {result})");
            }
        }
        finally
        {
            _installing.Release();
        }
    }

    /// <summary>The slot RAUC says the system booted from (its BootSlot property: the boot name, A or B).</summary>
    public Task<string> GetBootSlotAsync() => GetStringPropertyAsync("BootSlot");

    /// <summary>RAUC's last error (empty when none).</summary>
    public Task<string> GetLastErrorAsync() => GetStringPropertyAsync("LastError");

    /// <summary>Every slot as RAUC sees it (GetSlotStatus).</summary>
    public async Task<IReadOnlyList<SlotState>> GetSlotStatusAsync()
    {
        return await _connection.CallMethodAsync(Build("GetSlotStatus", ""), static (Message m, object? _) =>
        {
            var r = m.GetBodyReader();
            var slots = new List<SlotState>();
            var end = r.ReadArrayStart(DBusType.Struct);
            while (r.HasNext(end))
            {
                r.AlignStruct();
                var name = r.ReadString();
                var info = r.ReadDictionaryOfStringToVariantValue();
                slots.Add(new SlotState(name, Str(info, "bootname"), Str(info, "state") ?? "unknown", Str(info, "boot-status"), Str(info, "bundle.version")));
            }

            return (IReadOnlyList<SlotState>)slots;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Marks a slot (<paramref name="state"/>: good, bad or active; <paramref name="slot"/>: booted, other, or a slot
    /// name); returns RAUC's message.
    /// </summary>
    public async Task<string> MarkAsync(string state, string slot)
    {
        try
        {
            return await _connection.CallMethodAsync(Build("Mark", "ss", state, slot), static (Message m, object? _) =>
            {
                var r = m.GetBodyReader();
                r.ReadString();
                return r.ReadString();
            }).ConfigureAwait(false);
        }
        catch (DBusErrorReplyException e)
        {
            throw new RaucInstallException($"RAUC did not mark {slot} {state}: {e.ErrorMessage}", e);
        }
    }

    private MessageBuffer Build(string member, string signature, string? a = null, string? b = null, string iface = Installer)
    {
        using var writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(Service, ObjectPath, iface, member, signature.Length == 0 ? null : signature);
        if (a is not null)
        {
            writer.WriteString(a);
        }

        if (b is not null)
        {
            writer.WriteString(b);
        }

        return writer.CreateMessage();
    }

    private MessageBuffer BuildInstall(string bundle)
    {
        using var writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(Service, ObjectPath, Installer, "InstallBundle", "sa{sv}");
        writer.WriteString(bundle);
        var dict = writer.WriteDictionaryStart();
        writer.WriteDictionaryEnd(dict);
        return writer.CreateMessage();
    }

    private async Task<string> GetStringPropertyAsync(string name)
    {
        return await _connection.CallMethodAsync(Build("Get", "ss", Installer, name, "org.freedesktop.DBus.Properties"), static (Message m, object? _) =>
        {
            var v = m.GetBodyReader().ReadVariantValue();
            return v.Type == VariantValueType.String ? v.GetString() : "";
        }).ConfigureAwait(false);
    }

    private static RaucProgress? ToProgress(VariantValue v)
    {
        try
        {
            return new RaucProgress(v.GetItem(0).GetInt32(), v.GetItem(1).GetString(), v.GetItem(2).GetInt32());
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static string? Str(Dictionary<string, VariantValue> info, string key) =>
        info.TryGetValue(key, out var v) && v.Type == VariantValueType.String ? v.GetString() : null;

    public void Dispose()
    {
        _connection.Dispose();
        _installing.Dispose();
    }
}
