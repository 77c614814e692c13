using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Crypto.Certificates;
using Room.Fleet.Interop;
using Room.Fleet.Jobs;

namespace Room.Fleet.Download;

/// <summary>Where bundles go and how hard to try ("Fleet:Download" in room.json).</summary>
public sealed class DownloadOptions
{
    public const string Section = "Fleet:Download";

    /// <summary>The folder on the data partition that holds downloads (and nothing else: other files there are removed).</summary>
    [Required]
    public string Directory { get; set; } = "/var/lib/room/fleet/downloads";

    /// <summary>Free space a download must always leave on the data partition.</summary>
    [Range(0, long.MaxValue)]
    public long ReserveBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Failed attempts in a row (without a byte of progress) before giving up.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 8;

    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A connection that delivers nothing for this long is dropped (and the download resumed).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>Why a download stopped for good (the room stays on its version; a partial file is kept only to resume).</summary>
public enum DownloadError
{
    /// <summary>The data partition has too little room for the rest of the bundle and the reserve.</summary>
    NoSpace,

    /// <summary>The server answered with a permanent error (404, 403, ...).</summary>
    NotAvailable,

    /// <summary>The server's bundle is larger or smaller than the job says.</summary>
    SizeMismatch,

    /// <summary>The complete download's SHA-256 is not the job's.</summary>
    HashMismatch,

    /// <summary>Writing the file failed.</summary>
    WriteFailed,

    /// <summary>Transient failures went on for <see cref="DownloadOptions.MaxAttempts"/> attempts.</summary>
    GaveUp,
}

public sealed class DownloadException(DownloadError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public DownloadError Error { get; } = error;
}

/// <summary>What a download is doing, for progress reports.</summary>
public abstract record DownloadEvent
{
    /// <summary>Bytes on disk after each read (the caller throttles what it shows).</summary>
    public sealed record Progress(long Bytes, long Total) : DownloadEvent;

    /// <summary>A request resumes at <paramref name="From"/> bytes.</summary>
    public sealed record Resuming(long From) : DownloadEvent;

    /// <summary>An attempt failed; the next starts after <paramref name="Delay"/> (the timer is already running).</summary>
    public sealed record Retrying(int Attempt, TimeSpan Delay, string Reason) : DownloadEvent;

    public sealed record Verifying : DownloadEvent;
}

/// <summary>
/// Downloads a job's bundle over HTTPS into the data partition: <c>NAME.part</c> while under way, resumed with a Range
/// request after a cut; a server that sends more or less than the job's size, or other bytes than its SHA-256, is
/// refused and the partial file removed; transient failures are retried with exponential back-off and jitter on the
/// given TimeProvider; a download never starts or goes on where it would leave less than the reserve free. Cancelling
/// keeps the partial file for a later resume (<see cref="Discard"/> removes it).
/// </summary>
public sealed class BundleDownloader(HttpClient http, DownloadOptions options, TimeProvider time, ILogger<BundleDownloader>? logger = null,
    Func<string, long>? availableBytes = null, Random? random = null)
{
    private const int BufferSize = 64 * 1024;
    private readonly ILogger _logger = logger ?? NullLogger<BundleDownloader>.Instance;
    private readonly Func<string, long> _available = availableBytes ?? Posix.AvailableBytes;
    private readonly Random _random = random ?? Random.Shared;

    /// <summary>
    /// An HTTP client that trusts only <paramref name="fleetCa"/> for the download server (chain and host name);
    /// <paramref name="refused"/> hears why a server's certificate was refused.
    /// </summary>
    public static HttpClient CreateHttpClient(X509Certificate2 fleetCa, Action<string>? refused = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = ServerCertificateTrust.Callback(fleetCa, refused ?? (static _ => { })),
            },
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Where a bundle's complete download lives.</summary>
    public string PathFor(BundleRef bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return Path.Combine(options.Directory, "bundle-" + bundle.Sha256.ToLowerInvariant() + ".raucb");
    }

    /// <summary>Removes a bundle's download, complete or partial.</summary>
    public void Discard(BundleRef bundle)
    {
        File.Delete(PathFor(bundle));
        File.Delete(PathFor(bundle) + ".part");
    }

    /// <summary>Downloads (or resumes) <paramref name="bundle"/> and returns the verified file's path.</summary>
    public async Task<string> DownloadAsync(BundleRef bundle, Action<DownloadEvent>? onEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        Directory.CreateDirectory(options.Directory);
        string final = PathFor(bundle), part = final + ".part";
        RemoveOthers(final, part);
        if (File.Exists(final))
        {
            if (new FileInfo(final).Length == bundle.Size && await HashMatchesAsync(final, bundle, cancellationToken).ConfigureAwait(false))
            {
                return final;
            }

            File.Delete(final);
        }

        var failures = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long have = File.Exists(part) ? new FileInfo(part).Length : 0;
            if (have > bundle.Size)
            {
                File.Delete(part);
                have = 0;
            }

            if (have == bundle.Size)
            {
                break;
            }

            CheckSpace(bundle.Size - have);
            long before = have;
            string? transient;
            try
            {
                transient = await AttemptAsync(bundle, part, have, onEvent, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                transient = e.Message;
            }

            if (transient is null)
            {
                continue;
            }

            failures = File.Exists(part) && new FileInfo(part).Length > before ? 1 : failures + 1;
            if (failures > options.MaxAttempts)
            {
                throw new DownloadException(DownloadError.GaveUp, $"the download of {bundle.Url} failed {failures - 1} times in a row; last: {transient}");
            }

            var delay = Backoff(failures);
            _logger.LogWarning("Bundle download: {Reason}; attempt {Attempt} in {Delay}", transient, failures + 1, delay);
            var wait = Task.Delay(delay, time, cancellationToken);
            onEvent?.Invoke(new DownloadEvent.Retrying(failures, delay, transient));
            await wait.ConfigureAwait(false);
        }

        onEvent?.Invoke(new DownloadEvent.Verifying());
        if (!await HashMatchesAsync(part, bundle, cancellationToken).ConfigureAwait(false))
        {
            File.Delete(part);
            throw new DownloadException(DownloadError.HashMismatch, $"the bundle from {bundle.Url} does not have the job's SHA-256; removed");
        }

        File.Move(part, final, overwrite: true);
        Posix.FsyncDirectory(options.Directory);
        return final;
    }

    /// <summary>The back-off before attempt <paramref name="failures"/>+1: exponential, capped, with full-range jitter in [½, 1].</summary>
    internal TimeSpan Backoff(int failures)
    {
        var ceiling = options.FirstBackoff * Math.Pow(2, Math.Min(failures - 1, 30));
        if (ceiling > options.MaxBackoff)
        {
            ceiling = options.MaxBackoff;
        }

        return ceiling * (0.5 + (0.5 * _random.NextDouble()));
    }

    /// <summary>One request: null when it ended the download (or made it resumable at once), else the transient failure.</summary>
    private async Task<string?> AttemptAsync(BundleRef bundle, string part, long have, Action<DownloadEvent>? onEvent, CancellationToken cancellationToken)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var idleTimer = time.CreateTimer(_ => idle.Cancel(), null, options.IdleTimeout, Timeout.InfiniteTimeSpan);
        using var request = new HttpRequestMessage(HttpMethod.Get, bundle.Url);
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
            onEvent?.Invoke(new DownloadEvent.Resuming(have));
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                File.Delete(part); // what we have does not fit the server's file: start over
                return "the server refused to resume; starting over";
            case HttpStatusCode.PartialContent when response.Content.Headers.ContentRange is { From: { } from } && from == have:
                break;
            case HttpStatusCode.PartialContent:
                File.Delete(part);
                return "the server resumed at another offset; starting over";
            case HttpStatusCode.OK:
                have = 0;
                break;
            case HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests:
            case >= HttpStatusCode.InternalServerError:
                return $"the server answered {(int)response.StatusCode} {response.ReasonPhrase}";
            default:
                throw new DownloadException(DownloadError.NotAvailable, $"{bundle.Url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        var total = response.Content.Headers.ContentRange?.Length ?? (response.StatusCode == HttpStatusCode.OK ? response.Content.Headers.ContentLength : null);
        if (total is { } t && t != bundle.Size)
        {
            File.Delete(part);
            throw new DownloadException(DownloadError.SizeMismatch, $"the server's bundle has {t} bytes, the job says {bundle.Size}");
        }

        await using var body = await response.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);
        FileStream file;
        try
        {
            file = new FileStream(part, have == 0 ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.None, BufferSize);
        }
        catch (IOException e)
        {
            throw new DownloadException(DownloadError.WriteFailed, $"cannot write {part}: {e.Message}", e);
        }

        await using (file.ConfigureAwait(false))
        {
            var buffer = new byte[BufferSize];
            while (true)
            {
                int n = await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                idleTimer.Change(options.IdleTimeout, Timeout.InfiniteTimeSpan);
                if (n == 0)
                {
                    break;
                }

                if (have + n > bundle.Size)
                {
                    await file.DisposeAsync().ConfigureAwait(false);
                    File.Delete(part);
                    throw new DownloadException(DownloadError.SizeMismatch, $"the server sent more than the job's {bundle.Size} bytes");
                }

                try
                {
                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    throw new DownloadException(DownloadError.WriteFailed, $"cannot write {part}: {e.Message}", e);
                }

                have += n;
                onEvent?.Invoke(new DownloadEvent.Progress(have, bundle.Size));
            }

            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        return have == bundle.Size ? null : $"the connection ended after {have} of {bundle.Size} bytes";
    }

    private void CheckSpace(long needed)
    {
        long free = _available(options.Directory);
        if (free - needed < options.ReserveBytes)
        {
            throw new DownloadException(DownloadError.NoSpace,
                $"the data partition has {free} bytes free; the bundle needs {needed} more and {options.ReserveBytes} must stay free");
        }
    }

    /// <summary>Removes earlier bundles' files (complete or partial) so that they cannot eat the data partition.</summary>
    private void RemoveOthers(string final, string part)
    {
        foreach (var f in Directory.EnumerateFiles(options.Directory))
        {
            if (f != final && f != part && Path.GetFileName(f).StartsWith("bundle-", StringComparison.Ordinal))
            {
                _logger.LogInformation("Removing an earlier download {File}", f);
                File.Delete(f);
            }
        }
    }

    private static async Task<bool> HashMatchesAsync(string file, BundleRef bundle, CancellationToken cancellationToken)
    {
        var stream = File.OpenRead(file);
        await using (stream.ConfigureAwait(false))
        {
            var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
            return string.Equals(Convert.ToHexStringLower(hash), bundle.Sha256, StringComparison.OrdinalIgnoreCase);
        }
    }
}
