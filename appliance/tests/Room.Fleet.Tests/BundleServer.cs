using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Room.Fleet.Jobs;

namespace Room.Fleet.Tests;

/// <summary>
/// A Kestrel HTTPS server on 127.0.0.1 (a free port; its certificate from the test CA) serving bundle bytes with Range
/// support, and the faults a test asks for: a connection cut after N bytes, status codes for the next requests, more
/// bytes than the file has.
/// </summary>
public sealed class BundleServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Queue<int> _failWith = new();
    private readonly List<string?> _ranges = [];

    private BundleServer(WebApplication app) => _app = app;

    public byte[] Content { get; set; } = [];

    /// <summary>
    /// The next response that starts at 0 stops after this many bytes, and once the test calls <see cref="ReleaseCut"/>
    /// (the client has them all) the connection is aborted.
    /// </summary>
    public long? CutAfter { get; set; }

    private readonly TaskCompletionSource _cutRelease = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseCut() => _cutRelease.TrySetResult();

    /// <summary>Bytes appended to every full response (a server whose file is not the job's).</summary>
    public byte[] Extra { get; set; } = [];

    public Uri Url { get; private set; } = null!;

    /// <summary>The Range header of every request to the bundle, in order (null: none).</summary>
    public IReadOnlyList<string?> Ranges
    {
        get
        {
            lock (_ranges)
            {
                return [.. _ranges];
            }
        }
    }

    public void FailNext(params int[] statuses)
    {
        lock (_failWith)
        {
            foreach (var s in statuses)
            {
                _failWith.Enqueue(s);
            }
        }
    }

    public BundleRef Bundle(string version = "2.0.0", string compatible = "room-box-amd64") =>
        new(new Uri(Url, "bundle.raucb"), Content.Length, Convert.ToHexStringLower(SHA256.HashData(Content)), version, compatible);

    public static async Task<BundleServer> StartAsync(TestPki pki)
    {
        var (certFile, keyFile) = pki.IssueServer("download");
        var cert = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(cert)));
        var app = builder.Build();
        var server = new BundleServer(app);
        app.MapGet("/bundle.raucb", server.ServeAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return server;
    }

    private async Task ServeAsync(HttpContext context)
    {
        string? range = context.Request.Headers.Range;
        lock (_ranges)
        {
            _ranges.Add(range);
        }

        lock (_failWith)
        {
            if (_failWith.TryDequeue(out var status))
            {
                context.Response.StatusCode = status;
                return;
            }
        }

        var content = Content.Concat(Extra).ToArray();
        long from = 0;
        if (range is { } r && r.StartsWith("bytes=", StringComparison.Ordinal) && r.EndsWith('-')
            && long.TryParse(r.AsSpan(6, r.Length - 7), out from))
        {
            if (from >= content.Length)
            {
                context.Response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                return;
            }

            context.Response.StatusCode = StatusCodes.Status206PartialContent;
            context.Response.Headers.ContentRange = $"bytes {from}-{content.Length - 1}/{content.Length}";
        }

        context.Response.ContentLength = content.Length - from;
        if (from == 0 && CutAfter is { } cut)
        {
            CutAfter = null;
            await context.Response.Body.WriteAsync(content.AsMemory(0, (int)cut));
            await context.Response.Body.FlushAsync();
            await _cutRelease.Task.WaitAsync(TimeSpan.FromMinutes(2));
            context.Abort();
            return;
        }

        await context.Response.Body.WriteAsync(content.AsMemory((int)from));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
