using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Room.Calendar.CalDav;

/// <summary>
/// HTTP for calendar sources: a per-request time-out, a cap on the answer's size (read incrementally, so a server
/// that streams forever is cut off), no redirects, and Basic credentials from a file, sent only over https or to
/// loopback. Credentials are never logged nor put in an exception message.
/// </summary>
/// <remarks>
/// Connections: .NET keeps a connection for reuse after an HTTP/1.0 answer without "Connection: keep-alive" (and a
/// "Connection: close" in the request does not stop that), but such a server (Radicale's built-in one, Python's
/// wsgiref) closes it right after the answer. A request sent on it before the close arrives (likely on a loaded
/// machine) ends without an answer (ResponseEnded). So once a server has answered that way, every request to it gets
/// a connection of its own. Kept-alive connections to HTTP/1.1 servers are dropped after
/// <see cref="IdleTimeout"/> (the requests of one sync follow each other at once; the next sync is minutes away),
/// well before a server's own keep-alive timeout, so a connection the server has just closed is not reused either.
/// Nothing is retried here: a request that fails fails the sync, which keeps the agenda it had.
/// </remarks>
public sealed class DavHttp : IDisposable
{
    /// <summary>How long an idle kept-alive connection is kept for the next request.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(2);

    private readonly HttpClient _client;
    private readonly HttpClient _oneShot;
    private readonly long _maxBytes;
    private readonly TimeSpan _timeout;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _closesEachConnection = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="proxy">The room's HTTP(S) proxy (asked per request, so a change applies to the next one); null: the
    /// environment's (HTTP_PROXY and friends), as .NET does by default.</param>
    public DavHttp(TimeSpan timeout, long maxBytes, HttpMessageHandler? handler = null, IWebProxy? proxy = null)
    {
        _client = new HttpClient(handler ?? Handler(timeout, pooled: true, proxy)) { Timeout = Timeout.InfiniteTimeSpan };
        _oneShot = handler is null ? new HttpClient(Handler(timeout, pooled: false, proxy)) { Timeout = Timeout.InfiniteTimeSpan } : _client;
        _timeout = timeout;
        _maxBytes = maxBytes;
    }

    public long MaxBytes => _maxBytes;

    public void Dispose()
    {
        _client.Dispose();
        _oneShot.Dispose();
    }

    public Task<DavReply> SendAsync(HttpMethod method, Uri url, string? credentialsFile, string? body, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        return SendOnceAsync(method, url, credentialsFile, body, headers, cancellationToken);
    }

    private static SocketsHttpHandler Handler(TimeSpan timeout, bool pooled, IWebProxy? proxy) => new()
    {
        Proxy = proxy,
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = timeout,
        PooledConnectionLifetime = pooled ? TimeSpan.FromMinutes(5) : TimeSpan.Zero,
        PooledConnectionIdleTimeout = pooled ? IdleTimeout : TimeSpan.Zero,
    };

    private async Task<DavReply> SendOnceAsync(HttpMethod method, Uri url, string? credentialsFile, string? body, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/xml");
        }

        foreach (var (k, v) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(k, v);
        }

        if (!string.IsNullOrEmpty(credentialsFile))
        {
            request.Headers.Authorization = Credentials(url, credentialsFile);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            var client = _closesEachConnection.ContainsKey(url.Authority) ? _oneShot : _client;
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.Version == HttpVersion.Version10 && !response.Headers.Connection.Contains("keep-alive", StringComparer.OrdinalIgnoreCase))
            {
                // See the remarks: this server closes every connection after one answer.
                _closesEachConnection.TryAdd(url.Authority, true);
            }

            if (response.Content.Headers.ContentLength is { } length && length > _maxBytes)
            {
                throw new CalendarSyncException($"{Where(url)} answered with {length} bytes, more than the limit of {_maxBytes}.");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > _maxBytes)
                {
                    throw new CalendarSyncException($"{Where(url)} answered with more than the limit of {_maxBytes} bytes.");
                }

                buffer.Write(chunk, 0, n);
            }

            var text = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            return new DavReply((int)response.StatusCode, text, response.Headers.ETag?.ToString());
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CalendarSyncException($"{Where(url)} did not answer within {_timeout.TotalSeconds:0} s.");
        }
        catch (HttpRequestException ex)
        {
            throw new CalendarSyncException($"{Where(url)} cannot be reached: {ex.HttpRequestError}.", ex);
        }
    }

    /// <summary>The server as it may be logged (no path, which may name a person; no credentials).</summary>
    public static string Where(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return $"{url.Scheme}://{url.Authority}";
    }

    private static AuthenticationHeaderValue Credentials(Uri url, string file)
    {
        if (url.Scheme != "https" && !url.IsLoopback)
        {
            throw new CalendarSyncException($"Credentials are only sent over https (or to this machine), not to {Where(url)}.");
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CalendarSyncException($"The calendar's credentials file cannot be read ({ex.GetType().Name}).");
        }

        if (lines.Length < 2 || lines[0].Length == 0 || lines[0].Contains(':', StringComparison.Ordinal))
        {
            throw new CalendarSyncException("The calendar's credentials file must hold the user name on its first line and the password on its second.");
        }

        return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{lines[0]}:{lines[1]}")));
    }
}

public sealed record DavReply(int Status, string Body, string? ETag)
{
    public bool Ok => Status is >= 200 and < 300;
}
