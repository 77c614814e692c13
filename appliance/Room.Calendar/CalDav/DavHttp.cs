using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Room.Calendar.CalDav;

/// <summary>
/// HTTP for calendar sources: a per-request time-out, a cap on the answer's size (read incrementally, so a server
/// that streams forever is cut off), no redirects, and Basic credentials from a file, sent only over https or to
/// loopback. Credentials are never logged nor put in an exception message.
/// </summary>
public sealed class DavHttp : IDisposable
{
    private readonly HttpClient _client;
    private readonly long _maxBytes;
    private readonly TimeSpan _timeout;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _http10 = new(StringComparer.OrdinalIgnoreCase);

    public DavHttp(TimeSpan timeout, long maxBytes, HttpMessageHandler? handler = null)
    {
        _client = new HttpClient(handler ?? new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _timeout = timeout;
        _maxBytes = maxBytes;
    }

    public long MaxBytes => _maxBytes;

    public void Dispose() => _client.Dispose();

    public async Task<DavReply> SendAsync(HttpMethod method, Uri url, string? credentialsFile, string? body, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        try
        {
            return await SendOnceAsync(method, url, credentialsFile, body, headers, cancellationToken).ConfigureAwait(false);
        }
        catch (CalendarSyncException ex) when (ex.InnerException is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded })
        {
            // A kept-alive connection the server had already closed: every request here is safe to repeat, once.
            return await SendOnceAsync(method, url, credentialsFile, body, headers, cancellationToken).ConfigureAwait(false);
        }
    }

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

        if (_http10.ContainsKey(url.Authority))
        {
            // An HTTP/1.0 server (Radicale's built-in one) closes each connection after its answer.
            request.Headers.ConnectionClose = true;
        }

        if (!string.IsNullOrEmpty(credentialsFile))
        {
            request.Headers.Authorization = Credentials(url, credentialsFile);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.Version == HttpVersion.Version10)
            {
                _http10.TryAdd(url.Authority, true);
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
