using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Room.MeetingServer.Web;

/// <summary>
/// Serves the web client (plain ES modules beside the server: <c>WebClient/</c> in the output folder) at <c>/client/</c>,
/// with a content security policy that allows only this server's scripts and workers, and WebSocket connections to itself (Janus through Janus/JanusProxy.cs).
/// <c>/</c> sends a browser to the client.
/// </summary>
public static class WebClientHosting
{
    public const string Path = "/client";

    /// <summary>The client's folder beside the server's assembly.</summary>
    public static string Folder => System.IO.Path.Combine(AppContext.BaseDirectory, "WebClient");

    public static void UseWebClient(this WebApplication app)
    {
        if (!Directory.Exists(Folder))
        {
            app.Logger.LogWarning("web client not found in {Folder}: /client/ is not served", Folder);
            return;
        }

        if (!File.Exists(System.IO.Path.Combine(Folder, "vendor", "mls.js")))
        {
            app.Logger.LogWarning("web client's MLS library {File} is missing (run `npm ci` in meeting-server/web-client): joining from a browser fails", System.IO.Path.Combine(Folder, "vendor", "mls.js"));
        }

        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".js"] = "text/javascript";
        types.Mappings[".mjs"] = "text/javascript";
        app.MapGet("/", (HttpContext ctx) => Results.Redirect(ctx.Request.PathBase + Path + "/"));
        app.Use(async (ctx, next) =>
        {
            if (ctx.Request.Path.StartsWithSegments(Path, StringComparison.Ordinal))
            {
                var h = ctx.Response.Headers;
                h.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; media-src 'self' blob: mediastream:; img-src 'self' data: blob:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
                h.XContentTypeOptions = "nosniff";
                h["Referrer-Policy"] = "no-referrer";
                h.CacheControl = "no-cache";
            }

            await next(ctx);
        });
        var files = new PhysicalFileProvider(Folder);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = Path });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files, RequestPath = Path, ContentTypeProvider = types });
    }
}
