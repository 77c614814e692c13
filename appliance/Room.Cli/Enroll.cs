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
            await SaveBrandingAsync(server, creds, dir, output, error);
            return 0;
        }
        catch (MeetingServerException e)
        {
            await error.WriteLineAsync($"roomctl: not enrolled: {e.Error}: {e.Message}");
            return e.Error is "unreachable" ? 3 : 1;
        }
    }

    /// <summary>The tenant's branding (name, colours, logo) beside the key, for the panel; enrolled without it if the server has none to give.</summary>
    private static async Task SaveBrandingAsync(Uri server, DeviceCredentials creds, string dir, TextWriter output, TextWriter error)
    {
        try
        {
            using var client = new MeetingServerClient(server, creds.OrganisationCa!, creds.TlsCertificate());
            var (branding, logo) = await TenantBranding.FetchAsync(client);
            branding.Save(dir, logo);
            await output.WriteLineAsync($"branding of {branding.DisplayName ?? branding.Tenant} stored in {Path.Combine(dir, TenantBranding.File)}");
        }
        catch (MeetingServerException e)
        {
            await error.WriteLineAsync($"roomctl: enrolled, but no branding stored: {e.Error}: {e.Message}");
        }
    }
}
