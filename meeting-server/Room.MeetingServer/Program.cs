using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;
using Room.MeetingServer;
using Room.MeetingServer.Api;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Meetings;

// room-meeting-server [serve]                    the service (configuration: appsettings, env ROOM_MS_*, --MeetingServer:Key=value)
// room-meeting-server user add NAME [--admin]    adds a local account; the password is read from standard input
// room-meeting-server janus-certificate DIR HOST...  Janus's wss:// certificate from the organisation CA (Janus/JanusCertificateCommand.cs)
var command = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
var configArgs = args.Where(a => a.StartsWith("--MeetingServer:", StringComparison.Ordinal) || a.StartsWith("--Logging:", StringComparison.Ordinal)).ToArray();

var builder = WebApplication.CreateSlimBuilder(configArgs);
builder.Configuration.AddEnvironmentVariables("ROOM_MS_");
builder.Services.AddMeetingServer(builder.Configuration);
builder.Host.UseSystemd();

if (await Room.MeetingServer.Tenants.TenantCommands.TryRunAsync(command, args, builder) is { } tenantCommand)
{
    return tenantCommand;
}

if (command is ["user", "add", var name])
{
    builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
    using var cli = builder.Build();
    await cli.Services.GetRequiredService<Room.MeetingServer.Storage.IMeetingStore>().InitializeAsync();
    string password = (await Console.In.ReadLineAsync()) ?? "";
    try
    {
        await cli.Services.GetRequiredService<MeetingService>().AddLocalUserAsync(name, password, args.Contains("--admin"), CancellationToken.None);
    }
    catch (RefusedException e)
    {
        await Console.Error.WriteLineAsync(e.Message);
        return 2;
    }

    Console.WriteLine($"added person:{name}{(args.Contains("--admin") ? " (administrator)" : "")}");
    return 0;
}

if (command is ["janus-certificate", var janusDir, .. var janusHosts])
{
    builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
    using var cli = builder.Build();
    return Room.MeetingServer.Janus.JanusCertificateCommand.Run(cli.Services, janusDir, janusHosts);
}

if (command.Length > 0 && command is not ["serve"])
{
    await Console.Error.WriteLineAsync("usage: room-meeting-server [serve] | user add NAME [--admin]  (password on standard input) | janus-certificate DIR HOST...");
    return 64;
}

builder.WebHost.UseKestrel((ctx, k) =>
{
    var o = ctx.Configuration.GetSection(MeetingServerOptions.Section).Get<MeetingServerOptions>() ?? new MeetingServerOptions();
    k.Listen(IPEndPoint.Parse(o.Listen), l =>
    {
        // HTTP/1.1 only: Chromium ends every HTTP/2 session when any address on the machine changes (a VPN, a
        // container, a veth coming up), failing its requests and the WebSockets it carries with
        // net::ERR_NETWORK_CHANGED. Measured: 3 of 3 requests in flight failed over HTTP/2, 0 of 3 over HTTP/1.1, whose
        // connections outlive changes on other links. The web client's Janus relay would drop a person's call each time.
        l.Protocols = HttpProtocols.Http1;
        l.UseHttps(https =>
        {
            var serverCertificate = k.ApplicationServices.GetRequiredService<OrganisationCa>().IssueServerCertificate(o.ServerHostNames);
            // A tenant's own host names get a certificate from the tenant's CA (SNI), so its rooms can check it against their CA.
            var tenants = k.ApplicationServices.GetRequiredService<Room.MeetingServer.Tenants.TenantRegistry>();
            https.ServerCertificateSelector = (_, name) => tenants.CertificateFor(name) ?? serverCertificate;
            // A device may present its certificate; the API decides (and refuses a bad one, with a reason in the log).
            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            https.AllowAnyClientCertificate();
        });
    });
});
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

var app = builder.Build();
await app.Services.GetRequiredService<Room.MeetingServer.Storage.IMeetingStore>().InitializeAsync();
await app.Services.GetRequiredService<Room.MeetingServer.Tenants.TenantRegistry>().InitializeAsync();
Room.MeetingServer.Tenants.TenantEndpoints.UseTenants(app);
app.UseMeetingServerApi();
Room.MeetingServer.Janus.JanusProxy.MapJanusProxy(app);
Room.MeetingServer.Web.MeetingLinks.MapMeetingLinks(app);
Room.MeetingServer.Web.WebClientHosting.UseWebClient(app);
await app.StartAsync();
var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
var opts = app.Services.GetRequiredService<IOptions<MeetingServerOptions>>().Value;
// Tests and scripts read this line to learn the port (Listen may say port 0).
Console.WriteLine($"room-meeting-server listening on {string.Join(' ', addresses)} (storage {opts.Storage}, suite {opts.CipherSuite})");
await app.WaitForShutdownAsync();
return 0;
