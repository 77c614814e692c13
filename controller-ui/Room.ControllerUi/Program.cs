using Microsoft.Extensions.Options;
using Room.ControllerUi.Components;
using Room.Bus;
using Room.ControllerUi.Services;

var builder = WebApplication.CreateBuilder(args);

// `--bus ADDRESS` is short for ControllerUi:BusAddress (ROOM_BUS_ADDRESS and the system bus are the fallbacks).
builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--bus"] = "ControllerUi:BusAddress" });

// The kiosk browser is on the same machine: loopback only unless --urls says otherwise.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:8080");
}

// Static files from the build output as well as from a published folder.
builder.WebHost.UseStaticWebAssets();

builder.Services.Configure<ControllerUiOptions>(builder.Configuration.GetSection(ControllerUiOptions.Section));

// Only the kiosk's user reaches the panel (the socket owner of each loopback connection is checked), and only by a
// loopback host name: other local users and DNS-rebinding pages get nothing.
var allowedUids = new Lazy<HashSet<uint>>(() => PanelAccess.AllowedUids(
    builder.Configuration.GetSection(ControllerUiOptions.Section).Get<ControllerUiOptions>() ?? new ControllerUiOptions()));
builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(listen =>
    listen.Use(PanelAccess.Filter(() => allowedUids.Value, k.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("PanelAccess")))));
builder.Services.AddSingleton<RoomState>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<RoomState>());
builder.Services.AddSingleton<PanelPreferences>();
builder.Services.AddScoped<UiFeedback>();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();
if (OperatingSystem.IsLinux())
{
    builder.Host.UseSystemd();
}

var app = builder.Build();
_ = allowedUids.Value; // an unknown user in ControllerUi:AllowedUsers stops the panel at start, not at the first touch

app.Use(PanelAccess.CheckHostAndOrigin);
app.UseExceptionHandler("/error", createScopeForErrors: true);
app.UseAntiforgery();
app.MapStaticAssets();

// The operator's logo, from the configured file (never a path taken from the request).
app.MapGet("/brand/logo", (IOptions<ControllerUiOptions> options) =>
{
    var path = options.Value.Brand.LogoPath;
    if (string.IsNullOrEmpty(path) || !File.Exists(path))
    {
        return Results.NotFound();
    }

    var type = Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        _ => "application/octet-stream",
    };
    return Results.File(path, type);
});

// The enrolled tenant's logo, as roomd offers it (System.BrandingLogo: PNG or JPEG, checked by roomd and here).
app.MapGet("/brand/tenant-logo", (RoomState state) =>
{
    byte[] logo = state.Status.System.BrandingLogo;
    string? type = logo.AsSpan().StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) ? "image/png"
        : logo.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) ? "image/jpeg"
        : null;
    return type is null ? Results.NotFound() : Results.Bytes(logo, type);
});

// The call's decoded remote picture as a multipart JPEG stream for an <img>: fetched from roomd over the bus
// at about 5 frames a second, only while someone is watching.
app.MapGet("/media/remote.mjpeg", async (HttpContext http, RoomState state) =>
{
    const string boundary = "roomframe";
    http.Response.ContentType = $"multipart/x-mixed-replace; boundary={boundary}";
    http.Response.Headers.CacheControl = "no-store";
    var ct = http.RequestAborted;
    try
    {
        while (!ct.IsCancellationRequested)
        {
            byte[]? jpeg = null;
            try
            {
                jpeg = await state.CallAsync(c => c.SnapshotAsync());
            }
            catch (Exception ex) when (ex is RoomBusException or RoomUnavailableException)
            {
                // No picture yet (joining) or roomd away: try again shortly.
            }

            if (jpeg is not null)
            {
                await http.Response.WriteAsync($"--{boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {jpeg.Length}\r\n\r\n", ct);
                await http.Response.Body.WriteAsync(jpeg, ct);
                await http.Response.WriteAsync("\r\n", ct);
                await http.Response.Body.FlushAsync(ct);
            }

            await Task.Delay(jpeg is null ? 500 : 200, ct);
        }
    }
    catch (OperationCanceledException) when (ct.IsCancellationRequested)
    {
        // The viewer went away.
    }
});

// For the kiosk unit and tests: 200 once the panel serves pages.
app.MapGet("/healthz", (RoomState state) => Results.Text(state.Link.ToString()));

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

await app.RunAsync();

/// <summary>Entry point (public for tests).</summary>
public partial class Program;
