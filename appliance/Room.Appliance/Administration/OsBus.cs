using System.Net.Sockets;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Administration;

/// <summary>
/// One call to an operating-system service over D-Bus (systemd-networkd, -timedated, -timesyncd, systemd itself) on a
/// connection of its own, bounded by <see cref="CallTimeout"/>. Arguments are strings and booleans, all these
/// services need.
/// </summary>
public static class OsBus
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Calls a method whose reply roomd does not read.</summary>
    public static Task CallAsync(string bus, string destination, string path, string iface, string member, CancellationToken cancellationToken, params object[] args) =>
        CallAsync(bus, destination, path, iface, member, static (Message _, object? _) => true, cancellationToken, args);

    /// <summary>Calls a method and reads its reply with <paramref name="read"/>.</summary>
    public static async Task<T> CallAsync<T>(string bus, string destination, string path, string iface, string member,
        MessageValueReader<T> read, CancellationToken cancellationToken, params object[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        using var connection = new DBusConnection(bus);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(timeout.Token);
            MessageBuffer message;
            using (var writer = connection.GetMessageWriter())
            {
                writer.WriteMethodCallHeader(destination, path, iface, member, args.Length == 0 ? null : string.Concat(args.Select(Signature)));
                foreach (var a in args)
                {
                    if (a is bool b)
                    {
                        writer.WriteBool(b);
                    }
                    else
                    {
                        writer.WriteString((string)a);
                    }
                }

                message = writer.CreateMessage();
            }

            return await connection.CallMethodAsync(message, read).WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{destination} gave no answer within {CallTimeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>org.freedesktop.DBus.Properties.Get of one property.</summary>
    public static Task<VariantValue> GetPropertyAsync(string bus, string destination, string path, string iface, string name, CancellationToken cancellationToken) =>
        CallAsync(bus, destination, path, "org.freedesktop.DBus.Properties", "Get",
            static (Message m, object? _) => m.GetBodyReader().ReadVariantValue(), cancellationToken, iface, name);

    /// <summary>True for the ways a call to a service can fail (unreachable, refused, no answer).</summary>
    public static bool IsFailure(Exception ex) =>
        ex is DBusConnectionException or DBusErrorReplyException or TimeoutException or IOException or SocketException;

    /// <summary>"ERROR.NAME: message" for a refusal, else the exception's message.</summary>
    public static string Describe(Exception ex) => ex switch
    {
        DBusErrorReplyException e => $"{e.ErrorName}: {e.ErrorMessage}",
        _ => ex.Message,
    };

    private static string Signature(object a) => a switch
    {
        bool => "b",
        string => "s",
        _ => throw new ArgumentException($"OsBus passes strings and booleans, not {a.GetType().Name}.", nameof(a)),
    };
}
