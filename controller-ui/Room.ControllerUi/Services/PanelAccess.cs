using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Room.ControllerUi.Interop;

namespace Room.ControllerUi.Services;

/// <summary>
/// Only the kiosk reaches the panel: a connection is served only when it comes over loopback from a socket owned by one
/// of <see cref="ControllerUiOptions.AllowedUsers"/> (default: the panel's own user); anything else is closed before a
/// byte is read. Requests must name the panel as a loopback host, and a request with an Origin must come from it.
/// </summary>
public static class PanelAccess
{
    private static readonly string[] s_hosts = ["127.0.0.1", "localhost", "[::1]"];

    /// <summary>The uids allowed to connect: names or numbers from the options, else this process's own user.</summary>
    public static HashSet<uint> AllowedUids(ControllerUiOptions options, string passwd = "/etc/passwd", string self = "/proc/self/status")
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.AllowedUsers.Count == 0)
        {
            return [OwnUid(self)];
        }

        var users = File.Exists(passwd)
            ? File.ReadLines(passwd).Select(l => l.Split(':')).Where(f => f.Length > 2).GroupBy(f => f[0]).ToDictionary(g => g.Key, g => g.First()[2])
            : [];
        var uids = new HashSet<uint>();
        foreach (var u in options.AllowedUsers)
        {
            var text = users.TryGetValue(u, out var id) ? id : u;
            if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                throw new OptionsValidationException(ControllerUiOptions.Section, typeof(ControllerUiOptions), [$"ControllerUi:AllowedUsers: no user '{u}' on this machine."]);
            }

            uids.Add(uid);
        }

        return uids;
    }

    /// <summary>Kestrel connection middleware: closes connections from other users or from other machines.</summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Filter(Func<HashSet<uint>> allowed, ILogger logger) => next => async connection =>
    {
        var uids = allowed();
        if (connection.RemoteEndPoint is IPEndPoint remote && connection.LocalEndPoint is IPEndPoint local && IPAddress.IsLoopback(remote.Address)
            && LoopbackPeers.FindUid(remote, local) is { } uid && uids.Contains(uid))
        {
            await next(connection);
            return;
        }

        logger.LogWarning("Refused a connection from {Remote}: not a local user allowed to use the panel", connection.RemoteEndPoint);
        connection.Abort(new ConnectionAbortedException("Not allowed to use the panel."));
    };

    /// <summary>400 unless Host is a loopback name; 403 when an Origin is given and is not this panel.</summary>
    public static async Task CheckHostAndOrigin(HttpContext http, Func<Task> next)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(next);
        var host = http.Request.Host;
        if (!host.HasValue || !s_hosts.Contains(host.Host, StringComparer.OrdinalIgnoreCase))
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (http.Request.Headers.Origin is { Count: > 0 } origin
            && !string.Equals(origin.ToString(), $"{http.Request.Scheme}://{host.Value}", StringComparison.OrdinalIgnoreCase))
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        await next();
    }

    private static uint OwnUid(string status)
    {
        var line = File.ReadLines(status).First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        return uint.Parse(line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[2], CultureInfo.InvariantCulture);
    }
}
