using Room.MeetingClient;

namespace Room.Cli;

/// <summary>
/// roomctl enroll URL CODE: makes this box's key (ECDSA P-256) in the key folder, checks that the server's CA is the
/// one the code names, and stores the device certificate the server issues. The private key never leaves the box.
/// </summary>
internal static class Enroll
{
    public const string DefaultKeyDir = "/var/lib/room/meeting-identity";

    public static async Task<int> RunAsync(string url, string code, TextWriter output, TextWriter error)
    {
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var server) || server.Scheme != Uri.UriSchemeHttps)
        {
            await error.WriteLineAsync($"roomctl: enroll needs the meeting server's https:// URL, not '{url}'.");
            return 2;
        }

        string dir = Environment.GetEnvironmentVariable("ROOM_MEETING_KEY_DIR") is { Length: > 0 } d ? d : DefaultKeyDir;
        using var creds = DeviceCredentials.LoadOrCreate(dir);
        try
        {
            string identity = await MeetingServerClient.EnrolAsync(server, code.Trim(), creds);
            creds.Save(dir);
            await output.WriteLineAsync($"enrolled as {identity}; certificate valid until {creds.Certificate!.NotAfter:u} (key and certificate in {dir})");
            return 0;
        }
        catch (MeetingServerException e)
        {
            await error.WriteLineAsync($"roomctl: not enrolled: {e.Error}: {e.Message}");
            return e.Error is "unreachable" ? 3 : 1;
        }
    }
}
