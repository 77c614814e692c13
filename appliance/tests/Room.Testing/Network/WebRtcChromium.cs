using Microsoft.Playwright;

namespace Room.Testing.Network;

/// <summary>
/// Debian's headless Chromium set up as a WebRTC participant: fake camera and microphone, and local addresses offered
/// as ICE candidates (no mDNS hiding, no private-network checks) so it meets peers in the test's namespaces.
/// </summary>
public static class WebRtcChromium
{
    public const string Executable = "/usr/bin/chromium";

    public static bool IsInstalled => File.Exists(Executable);

    /// <summary>
    /// Starts Playwright and the browser; the caller disposes both. <paramref name="extraArgs"/> are added, and one
    /// naming a switch of the default set (as <c>--use-fake-device-for-media-stream=fps=30</c>) replaces it.
    /// </summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync(params string[] extraArgs)
    {
        static string Switch(string arg) => arg.Split('=', 2)[0];
        string[] defaults =
        [
            "--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights",
            "--no-proxy-server", "--autoplay-policy=no-user-gesture-required",
        ];
        var args = defaults.Where(d => !extraArgs.Any(e => Switch(e) == Switch(d))).Concat(extraArgs).ToList();
        var playwright = await Playwright.CreateAsync().ConfigureAwait(false);
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Executable,
                Headless = true,
                Args = args,
            }).ConfigureAwait(false);
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}
