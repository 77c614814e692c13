using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace Room.Bus.Server;

/// <summary>
/// Exports a set of <see cref="IBusInterface"/>s at one object path: method dispatch with signature checks,
/// org.freedesktop.DBus.Properties (Get, GetAll, Set refused), PropertiesChanged for every change,
/// Introspectable from the contract XML, and Peer.
/// </summary>
public sealed class BusObjectServer : IPathMethodHandler, IDisposable
{
    private const string PropertiesInterface = "org.freedesktop.DBus.Properties";
    private const string PeerInterface = "org.freedesktop.DBus.Peer";

    private readonly Dictionary<string, IBusInterface> _interfaces;
    private readonly Dictionary<string, IReadOnlyDictionary<string, VariantValue>> _published = [];
    private readonly Lock _publishGate = new();
    private readonly ILogger _logger;
    private DBusConnection? _connection;

    public BusObjectServer(string path, IEnumerable<IBusInterface> interfaces, ILogger logger)
    {
        Path = path;
        _logger = logger;
        _interfaces = interfaces.ToDictionary(i => i.Name);
        foreach (var (name, iface) in _interfaces)
        {
            if (!BusContract.Interfaces.ContainsKey(name))
            {
                throw new ArgumentException($"Interface {name} is not in the contract.", nameof(interfaces));
            }

            _published[name] = iface.GetProperties();
            iface.Changed += OnInterfaceChanged;
        }
    }

    public string Path { get; }

    public bool HandlesChildPaths => false;

    /// <summary>Starts emitting signals on this connection (call after AddMethodHandler).</summary>
    public void Attach(DBusConnection connection) => _connection = connection;

    public void Dispose()
    {
        foreach (var iface in _interfaces.Values)
        {
            iface.Changed -= OnInterfaceChanged;
        }
    }

    /// <summary>Emits a signal with string arguments on one of the exported interfaces.</summary>
    public void EmitSignal(string interfaceName, string member, params string[] args)
    {
        var connection = _connection;
        if (connection is null)
        {
            return;
        }

        using var writer = connection.GetMessageWriter();
        writer.WriteSignalHeader(null, Path, interfaceName, member, new string('s', args.Length));
        foreach (var a in args)
        {
            writer.WriteString(a);
        }

        connection.TrySendMessage(writer.CreateMessage());
    }

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        var request = context.Request;
        var iface = request.InterfaceAsString ?? "";
        var member = request.MemberAsString ?? "";
        var signature = request.SignatureAsString ?? "";

        if (context.IsDBusIntrospectRequest)
        {
            context.ReplyIntrospectXml(BusContract.InterfaceXmlFragments, Array.Empty<string>());
            return ValueTask.CompletedTask;
        }

        switch (iface)
        {
            case PropertiesInterface:
                HandleProperties(context, member, signature);
                return ValueTask.CompletedTask;
            case PeerInterface:
                HandlePeer(context, member);
                return ValueTask.CompletedTask;
        }

        if (!_interfaces.TryGetValue(iface, out var target))
        {
            context.ReplyError(BusErrors.UnknownInterface, $"No interface '{iface}' at {Path}.");
            return ValueTask.CompletedTask;
        }

        if (!BusContract.Interfaces[iface].Methods.TryGetValue(member, out var method))
        {
            context.ReplyUnknownMethodError();
            return ValueTask.CompletedTask;
        }

        if (signature != method.InSignature)
        {
            context.ReplyError(BusErrors.InvalidArgs, $"{iface}.{member} takes '{method.InSignature}', not '{signature}'.");
            return ValueTask.CompletedTask;
        }

        object[] args;
        try
        {
            args = ReadArguments(request, method.InSignature);
        }
        catch (Exception ex) when (ex is DBusReadException or InvalidOperationException or ArgumentException)
        {
            context.ReplyError(BusErrors.InvalidArgs, $"Malformed arguments for {iface}.{member}: {ex.Message}");
            return ValueTask.CompletedTask;
        }

        context.DisposesAsynchronously = true;
        return InvokeAsync(context, target, method, args);
    }

    private async ValueTask InvokeAsync(MethodContext context, IBusInterface target, MethodDescription method, object[] args)
    {
        try
        {
            BusCaller.Current = new BusCaller(context.Request.SenderAsString ?? "", context.Connection);
            var result = await target.InvokeAsync(method.Name, args, context.RequestAborted);
            if (context.NoReplyExpected)
            {
                return;
            }

            context.Reply(BuildReply(context, method, result));
        }
        catch (RoomBusException ex)
        {
            _logger.LogInformation("{Interface}.{Method} refused: {Error}: {Message}", target.Name, method.Name, ex.ErrorName, ex.Message);
            context.ReplyError(ex.ErrorName, ex.Message);
        }
        catch (ArgumentException ex)
        {
            context.ReplyError(BusErrors.InvalidArgument, ex.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; there is no one to answer.
        }
#pragma warning disable CA1031 // The bus must answer every call, whatever went wrong inside.
        catch (Exception ex)
        {
            _logger.LogError(ex, "{Interface}.{Method} failed", target.Name, method.Name);
            context.ReplyError(BusErrors.Failed, $"{method.Name} failed: {ex.Message}");
        }
#pragma warning restore CA1031
        finally
        {
            context.Dispose();
        }
    }

    private void HandleProperties(MethodContext context, string member, string signature)
    {
        var reader = context.Request.GetBodyReader();
        switch (member, signature)
        {
            case ("GetAll", "s"):
            {
                var name = reader.ReadString();
                if (!_interfaces.TryGetValue(name, out var iface))
                {
                    context.ReplyError(BusErrors.UnknownInterface, $"No interface '{name}' at {Path}.");
                    return;
                }

                using var writer = context.CreateReplyWriter("a{sv}");
                writer.WriteDictionary(iface.GetProperties());
                context.Reply(writer.CreateMessage());
                return;
            }

            case ("Get", "ss"):
            {
                var name = reader.ReadString();
                var property = reader.ReadString();
                if (!_interfaces.TryGetValue(name, out var iface))
                {
                    context.ReplyError(BusErrors.UnknownInterface, $"No interface '{name}' at {Path}.");
                    return;
                }

                if (!iface.GetProperties().TryGetValue(property, out var value))
                {
                    context.ReplyError(BusErrors.UnknownProperty, $"{name} has no property '{property}'.");
                    return;
                }

                using var writer = context.CreateReplyWriter("v");
                writer.WriteVariant(value);
                context.Reply(writer.CreateMessage());
                return;
            }

            case ("Set", "ssv"):
                context.ReplyError(BusErrors.PropertyReadOnly, "roomd's properties are read-only; use the interface's methods.");
                return;

            default:
                context.ReplyError(BusErrors.InvalidArgs, $"{PropertiesInterface}.{member} with signature '{signature}' is not supported.");
                return;
        }
    }

    private static void HandlePeer(MethodContext context, string member)
    {
        switch (member)
        {
            case "Ping":
            {
                using var writer = context.CreateReplyWriter(null);
                context.Reply(writer.CreateMessage());
                return;
            }

            case "GetMachineId":
            {
                var id = File.Exists("/etc/machine-id") ? File.ReadAllText("/etc/machine-id").Trim() : "";
                using var writer = context.CreateReplyWriter("s");
                writer.WriteString(id);
                context.Reply(writer.CreateMessage());
                return;
            }

            default:
                context.ReplyUnknownMethodError();
                return;
        }
    }

    private void OnInterfaceChanged(object? sender, EventArgs e)
    {
        if (sender is not IBusInterface iface)
        {
            return;
        }

        // Serialised so that signals leave in the order the changes happened.
        lock (_publishGate)
        {
            var now = iface.GetProperties();
            var before = _published[iface.Name];
            var changed = now.Where(kv => !before.TryGetValue(kv.Key, out var old) || !VariantComparer.DeepEquals(old, kv.Value))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            _published[iface.Name] = now;
            if (changed.Count == 0 || _connection is not { } connection)
            {
                return;
            }

            using var writer = connection.GetMessageWriter();
            writer.WriteSignalHeader(null, Path, PropertiesInterface, "PropertiesChanged", "sa{sv}as");
            writer.WriteString(iface.Name);
            writer.WriteDictionary(changed);
            writer.WriteArray(Array.Empty<string>());
            connection.TrySendMessage(writer.CreateMessage());
        }
    }

    private static object[] ReadArguments(Message request, string signature)
    {
        var reader = request.GetBodyReader();
        var args = new List<object>(signature.Length);
        for (var i = 0; i < signature.Length; i++)
        {
            if (signature[i] == 'a' && i + 1 < signature.Length && signature[i + 1] == 's')
            {
                args.Add(reader.ReadArrayOfString());
                i++;
                continue;
            }

            args.Add(signature[i] switch
            {
                's' => reader.ReadString(),
                'b' => reader.ReadBool(),
                'u' => reader.ReadUInt32(),
                'i' => reader.ReadInt32(),
                'x' => reader.ReadInt64(),
                'd' => reader.ReadDouble(),
                var c => throw new InvalidOperationException($"Argument type '{c}' is not used by the contract."),
            });
        }

        return [.. args];
    }

    private static MessageBuffer BuildReply(MethodContext context, MethodDescription method, object? result)
    {
        var writer = context.CreateReplyWriter(method.OutSignature.Length == 0 ? null : method.OutSignature);
        try
        {
            if (method.OutSignature.Length > 0)
            {
                // MessageWriter is a struct: it must be passed by reference or the writes are lost.
                WriteBasic(ref writer, method.OutSignature, result ?? throw new InvalidOperationException($"{method.Name} returned no value."));
            }

            return writer.CreateMessage();
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static void WriteBasic(ref MessageWriter writer, string signature, object value)
    {
        switch (signature, value)
        {
            case ("s", string s): writer.WriteString(s); break;
            case ("b", bool b): writer.WriteBool(b); break;
            case ("u", uint u): writer.WriteUInt32(u); break;
            case ("i", int n): writer.WriteInt32(n); break;
            case ("x", long x): writer.WriteInt64(x); break;
            case ("d", double d): writer.WriteDouble(d); break;
            case ("ay", byte[] bytes): writer.WriteArray(bytes); break;
            default: throw new InvalidOperationException($"Cannot write {value.GetType().Name} as '{signature}'.");
        }
    }
}
