using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Room.Fleet.Download;
using Room.Fleet.Jobs;

namespace Room.Fleet.Tests;

/// <summary>Bundle downloads from a real Kestrel HTTPS server on loopback into a data folder.</summary>
public sealed class BundleDownloaderTests : IAsyncLifetime, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-fleet-dl-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-07T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private TestPki _pki = null!;
    private BundleServer _server = null!;
    private HttpClient _http = null!;

    private string Downloads => Path.Combine(_dir, "downloads");

    public async Task InitializeAsync()
    {
        _pki = new TestPki(Path.Combine(_dir, "pki"));
        _server = await BundleServer.StartAsync(_pki);
        _server.Content = RandomNumberGenerator.GetBytes(1024 * 1024 + 123);
        _http = BundleDownloader.CreateHttpClient(_pki.Ca);
    }

    private BundleDownloader Downloader(long free = long.MaxValue / 2, int maxAttempts = 3) => new(_http, new DownloadOptions
    {
        Directory = Downloads,
        ReserveBytes = 1024 * 1024,
        MaxAttempts = maxAttempts,
        FirstBackoff = TimeSpan.FromSeconds(2),
        MaxBackoff = TimeSpan.FromSeconds(60),
    }, _time, availableBytes: _ => free);

    /// <summary>Advances the fake clock by each back-off as the downloader starts waiting (its timer already runs).</summary>
    private Action<DownloadEvent> AdvanceOnRetry(List<DownloadEvent> events) => e =>
    {
        lock (events)
        {
            events.Add(e);
        }

        if (e is DownloadEvent.Retrying r)
        {
            _time.Advance(r.Delay);
        }

        CutWhenHalfArrived(e);
    };

    /// <summary>The server cuts its first response once the client has all the bytes it sent before the cut.</summary>
    private void CutWhenHalfArrived(DownloadEvent e)
    {
        if (e is DownloadEvent.Progress p && p.Bytes == _server.Content.Length / 2)
        {
            _server.ReleaseCut();
        }
    }

    [Fact]
    public async Task A_bundle_downloads_and_matches_its_size_and_hash()
    {
        var bundle = _server.Bundle();
        var path = await Downloader().DownloadAsync(bundle, null, CancellationToken.None);
        Assert.Equal(_server.Content, await File.ReadAllBytesAsync(path));
        Assert.False(File.Exists(path + ".part"));
        Assert.Equal([null], _server.Ranges);
    }

    [Fact]
    public async Task A_download_cut_at_half_resumes_where_it_stopped()
    {
        var half = _server.Content.Length / 2;
        _server.CutAfter = half;
        var events = new List<DownloadEvent>();
        var path = await Downloader().DownloadAsync(_server.Bundle(), AdvanceOnRetry(events), CancellationToken.None);

        Assert.Equal(_server.Content, await File.ReadAllBytesAsync(path));
        Assert.Equal([null, $"bytes={half}-"], _server.Ranges);
        Assert.Contains(new DownloadEvent.Resuming(half), events);
        Assert.Single(events.OfType<DownloadEvent.Retrying>());
    }

    [Fact]
    public async Task A_download_cancelled_midway_keeps_its_part_and_a_later_one_resumes_from_it()
    {
        var half = _server.Content.Length / 2;
        _server.CutAfter = half;
        using var cts = new CancellationTokenSource();
        // Cancel while it waits to retry after the cut.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Downloader().DownloadAsync(_server.Bundle(), e =>
            {
                CutWhenHalfArrived(e);
                if (e is DownloadEvent.Retrying)
                {
                    cts.Cancel();
                }
            }, cts.Token));
        var part = Downloader().PathFor(_server.Bundle()) + ".part";
        Assert.Equal(half, new FileInfo(part).Length);

        var path = await Downloader().DownloadAsync(_server.Bundle(), null, CancellationToken.None);
        Assert.Equal(_server.Content, await File.ReadAllBytesAsync(path));
        Assert.Equal([null, $"bytes={half}-"], _server.Ranges);
    }

    [Fact]
    public async Task Transient_server_errors_are_retried_with_growing_jittered_back_off()
    {
        _server.FailNext(503, 503, 500);
        var events = new List<DownloadEvent>();
        var path = await Downloader(maxAttempts: 5).DownloadAsync(_server.Bundle(), AdvanceOnRetry(events), CancellationToken.None);
        Assert.Equal(_server.Content, await File.ReadAllBytesAsync(path));

        var delays = events.OfType<DownloadEvent.Retrying>().Select(r => r.Delay).ToList();
        Assert.Equal(3, delays.Count);
        // Attempt n waits between half and all of 2 s × 2^(n-1).
        for (var i = 0; i < delays.Count; i++)
        {
            var ceiling = TimeSpan.FromSeconds(2 * Math.Pow(2, i));
            Assert.InRange(delays[i], ceiling / 2, ceiling);
        }
    }

    [Fact]
    public async Task A_server_that_keeps_failing_is_given_up_on_with_a_clear_error()
    {
        _server.FailNext(503, 503, 503, 503, 503);
        var events = new List<DownloadEvent>();
        var e = await Assert.ThrowsAsync<DownloadException>(() => Downloader(maxAttempts: 2).DownloadAsync(_server.Bundle(), AdvanceOnRetry(events), CancellationToken.None));
        Assert.Equal(DownloadError.GaveUp, e.Error);
        Assert.Contains("503", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, _server.Ranges.Count);
    }

    [Fact]
    public async Task A_missing_bundle_is_a_permanent_error_without_retries()
    {
        _server.FailNext(404);
        var e = await Assert.ThrowsAsync<DownloadException>(() => Downloader().DownloadAsync(_server.Bundle(), null, CancellationToken.None));
        Assert.Equal(DownloadError.NotAvailable, e.Error);
        Assert.Single(_server.Ranges);
    }

    [Fact]
    public async Task A_bundle_with_other_bytes_than_the_jobs_hash_is_refused_and_removed()
    {
        var bundle = _server.Bundle() with { Sha256 = Convert.ToHexStringLower(SHA256.HashData("something else"u8)) };
        var e = await Assert.ThrowsAsync<DownloadException>(() => Downloader().DownloadAsync(bundle, null, CancellationToken.None));
        Assert.Equal(DownloadError.HashMismatch, e.Error);
        Assert.Empty(Directory.GetFiles(Downloads));
    }

    [Fact]
    public async Task A_server_that_sends_more_than_the_jobs_size_is_refused()
    {
        _server.Extra = new byte[4096];
        var e = await Assert.ThrowsAsync<DownloadException>(() => Downloader().DownloadAsync(_server.Bundle() with { }, null, CancellationToken.None));
        Assert.Equal(DownloadError.SizeMismatch, e.Error);
        Assert.Empty(Directory.GetFiles(Downloads));
    }

    [Fact]
    public async Task A_download_that_would_fill_the_data_partition_does_not_start()
    {
        // 1 MiB must stay free; the bundle is a little over 1 MiB and 2 MiB are free.
        var e = await Assert.ThrowsAsync<DownloadException>(() => Downloader(free: 2 * 1024 * 1024).DownloadAsync(_server.Bundle(), null, CancellationToken.None));
        Assert.Equal(DownloadError.NoSpace, e.Error);
        Assert.Empty(_server.Ranges);
        Assert.Empty(Directory.GetFiles(Downloads));
    }

    [Fact]
    public async Task The_free_space_guard_reads_the_real_file_system()
    {
        // With the real statvfs: no machine has an exabyte free, so a bundle that large is refused before any request.
        var downloader = new BundleDownloader(_http, new DownloadOptions { Directory = Downloads, ReserveBytes = 0 }, _time);
        var huge = _server.Bundle() with { Size = 1L << 60 };
        var e = await Assert.ThrowsAsync<DownloadException>(() => downloader.DownloadAsync(huge, null, CancellationToken.None));
        Assert.Equal(DownloadError.NoSpace, e.Error);
        Assert.Empty(_server.Ranges);
    }

    [Fact]
    public async Task A_download_server_whose_certificate_is_not_from_the_fleet_CA_is_refused()
    {
        using var other = new TestPki(Path.Combine(_dir, "other"), "Other CA");
        var refusals = new List<string>();
        using var http = BundleDownloader.CreateHttpClient(other.Ca, refusals.Add);
        var downloader = new BundleDownloader(http, new DownloadOptions { Directory = Downloads, ReserveBytes = 0, MaxAttempts = 1 }, _time, availableBytes: _ => long.MaxValue / 2);
        var events = new List<DownloadEvent>();
        var e = await Assert.ThrowsAsync<DownloadException>(() => downloader.DownloadAsync(_server.Bundle(), AdvanceOnRetry(events), CancellationToken.None));
        Assert.Equal(DownloadError.GaveUp, e.Error);
        Assert.Empty(_server.Ranges);
        Assert.Contains(refusals, r => r.Contains("Other CA", StringComparison.Ordinal));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose()
    {
        _http.Dispose();
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
