using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Calendar.CalDav;
using Room.Calendar.Ics;
using Room.Calendar.Model;
using Room.Calendar.Storage;

namespace Room.Calendar;

/// <summary>
/// Keeps the room's agenda: syncs every source periodically (and on demand), keeps the last good state of each in
/// memory and on disk, and works out today's and tomorrow's entries in the room's zone. A sync that fails, or data
/// that is refused, never replaces what the room already had.
/// </summary>
public sealed class CalendarService : BackgroundService
{
    private static readonly TimeSpan s_tick = TimeSpan.FromSeconds(30);

    private readonly List<ICalendarSource> _sources;
    private readonly AgendaCache? _cache;
    private readonly TimeProvider _time;
    private readonly ILogger<CalendarService> _logger;
    private readonly IcsReader _reader;
    private readonly TimeZoneInfo _zone;
    private readonly TimeSpan _interval;
    private readonly SemaphoreSlim _syncGate = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Source, string Href), ParsedResource> _parsed = [];
    private readonly Dictionary<string, SourceState> _states = new(StringComparer.Ordinal);

    private CalendarSnapshot _snapshot = CalendarSnapshot.Empty;
    private IReadOnlyList<AgendaItem> _window = [];
    private DateTimeOffset? _lastSync;
    private DateTimeOffset _lastAttempt = DateTimeOffset.MinValue;
    private SyncStatus _status;
    private string _error = "";
    private string _refused = "";

    public CalendarService(IOptions<CalendarOptions> options, IEnumerable<ICalendarSource> sources, AgendaCache? cache, TimeProvider time, ILogger<CalendarService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        _sources = sources.ToList();
        _cache = cache;
        _time = time;
        _logger = logger;
        _zone = o.RoomZone();
        _reader = new IcsReader(_zone, o.MeetingServerUri());
        _interval = TimeSpan.FromSeconds(o.SyncIntervalSeconds);
        _status = _sources.Count == 0 ? SyncStatus.NotConfigured : SyncStatus.Pending;
        foreach (var s in _sources)
        {
            _states[s.Key] = SourceState.Empty(s.Key);
        }

        LoadCache();
        Recompute();
    }

    /// <summary>The agenda, next meeting or sync state changed.</summary>
    public event EventHandler? Changed;

    public CalendarSnapshot Snapshot
    {
        get
        {
            lock (_gate)
            {
                return _snapshot;
            }
        }
    }

    /// <summary>Every entry of today and tomorrow (room zone), start order: what the scheduler plans with.</summary>
    public IReadOnlyList<AgendaItem> Window
    {
        get
        {
            lock (_gate)
            {
                return _window;
            }
        }
    }

    public TimeZoneInfo Zone => _zone;

    /// <summary>Syncs every source now; true when all succeeded.</summary>
    public async Task<bool> SyncNowAsync(CancellationToken cancellationToken)
    {
        if (_sources.Count == 0)
        {
            return false;
        }

        await _syncGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _lastAttempt = _time.GetUtcNow();
            var failures = new List<string>();
            var refused = new List<string>();
            var anyChange = false;
            foreach (var source in _sources)
            {
                SourceState previous;
                lock (_gate)
                {
                    previous = _states[source.Key];
                }

                try
                {
                    var outcome = await source.SyncAsync(previous, cancellationToken).ConfigureAwait(false);
                    foreach (var (href, r) in outcome.State.Resources)
                    {
                        // Every new or changed resource is parsed now: refused ones keep their previous version.
                        if (previous.Resources.TryGetValue(href, out var old) && old.ETag == r.ETag)
                        {
                            continue;
                        }

                        try
                        {
                            IcsReader.Precheck(r.Ics, IcsLimits.Default);
                        }
                        catch (CalendarFormatException ex)
                        {
                            refused.Add($"{href}: {ex.Message}");
                        }
                    }

                    var state = KeepGoodVersions(previous, outcome.State, refused);
                    lock (_gate)
                    {
                        _states[source.Key] = state;
                    }

                    anyChange |= outcome.Mode != SyncMode.Unchanged;
                    refused.AddRange(outcome.Refused);
                    _logger.LogInformation("Calendar sync of {Source}: {Mode}, {Changed} changed, {Removed} removed, {Total} entries",
                        Display(source.Key), outcome.Mode, outcome.Changed, outcome.Removed, state.Resources.Count);
                }
                catch (CalendarSyncException ex)
                {
                    failures.Add(ex.Message);
                    _logger.LogWarning("Calendar sync of {Source} failed, keeping the agenda of the last sync: {Reason}", Display(source.Key), ex.Message);
                }
            }

            foreach (var r in refused)
            {
                _logger.LogWarning("Calendar entry refused: {Reason}", r);
            }

            var now = _time.GetUtcNow();
            lock (_gate)
            {
                _refused = refused.Count == 0 ? "" : $"{refused.Count} calendar entr{(refused.Count == 1 ? "y" : "ies")} refused: {refused[0]}";
                if (failures.Count == 0)
                {
                    _lastSync = now;
                    _status = SyncStatus.Ok;
                    _error = "";
                }
                else
                {
                    _status = _lastSync is null && _states.Values.All(s => s.Resources.Count == 0) ? SyncStatus.Error : SyncStatus.Offline;
                    _error = string.Join("; ", failures);
                }
            }

            if (failures.Count == 0 && (anyChange || refused.Count > 0))
            {
                SaveCache(now);
            }

            Recompute();
            return failures.Count == 0;
        }
        finally
        {
            _syncGate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await SyncNowAsync(stoppingToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(s_tick, _time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = _time.GetUtcNow();
                // Wall-clock jumps: a due time far in the future after the clock went back is treated as due.
                if (now - _lastAttempt >= _interval || now < _lastAttempt)
                {
                    await SyncNowAsync(stoppingToken).ConfigureAwait(false);
                }
                else
                {
                    Recompute();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _syncGate.Dispose();
        base.Dispose();
    }

    /// <summary>Works out today's and tomorrow's entries and the next meeting for the current time.</summary>
    public void Recompute()
    {
        var now = _time.GetUtcNow();
        var localNow = TimeZoneInfo.ConvertTime(now, _zone);
        var today = localNow.Date;
        var from = ZoneStart(today);
        var tomorrow = ZoneStart(today.AddDays(1));
        var to = ZoneStart(today.AddDays(2));
        var windowKey = $"{from:O}";
        var items = new List<AgendaItem>();
        var parseErrors = new List<string>();
        List<(string Key, SourceState State)> states;
        lock (_gate)
        {
            states = _states.Select(kv => (kv.Key, kv.Value)).ToList();
        }

        // Resources new or changed since they were last read (or read for another window) are parsed in parallel:
        // a first sync of thousands of events is bound by the iCalendar parser.
        var entries = new List<(string Key, string Href, CalendarResource Resource, ParsedResource? Parsed)>();
        lock (_gate)
        {
            foreach (var (key, state) in states)
            {
                foreach (var (href, resource) in state.Resources)
                {
                    _parsed.TryGetValue((key, href), out var parsed);
                    entries.Add((key, href, resource, parsed is not null && parsed.ETag == resource.ETag && parsed.WindowKey == windowKey ? parsed : null));
                }
            }
        }

        var stale = entries.Select((e, index) => (e, index)).Where(x => x.e.Parsed is null).Select(x => x.index).ToList();
        if (stale.Count > 0)
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = stale.Count >= 64 ? Environment.ProcessorCount : 1 };
            Parallel.ForEach(stale, parallel, index =>
            {
                var e = entries[index];
                ParsedResource parsed;
                try
                {
                    parsed = new ParsedResource(e.Resource.ETag, windowKey, _reader.Read(e.Resource.Ics, from, to), null);
                }
                catch (CalendarFormatException ex)
                {
                    parsed = new ParsedResource(e.Resource.ETag, windowKey, [], ex.Message);
                }

                entries[index] = e with { Parsed = parsed };
            });

            lock (_gate)
            {
                foreach (var index in stale)
                {
                    var e = entries[index];
                    _parsed[(e.Key, e.Href)] = e.Parsed!;
                }
            }
        }

        foreach (var e in entries)
        {
            items.AddRange(e.Parsed!.Items);
            if (e.Parsed.Error is not null)
            {
                parseErrors.Add($"{e.Href}: {e.Parsed.Error}");
            }
        }

        items = items.GroupBy(i => i.Id, StringComparer.Ordinal).Select(g => g.First())
            .OrderBy(i => i.Start).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();
        var todays = items.Where(i => i.Start < tomorrow && i.End > from).ToList();
        var tomorrows = items.Where(i => i.Start < to && i.End > tomorrow && (i.Start >= tomorrow || i.AllDay)).ToList();
        var next = items.Where(i => !i.AllDay && i.End > now).MinBy(i => i.Start);
        bool changed;
        lock (_gate)
        {
            var error = string.Join("; ", new[] { _error, _refused, parseErrors.Count > 0 ? $"{parseErrors.Count} calendar entr{(parseErrors.Count == 1 ? "y" : "ies")} unreadable: {parseErrors[0]}" : "" }.Where(e => e.Length > 0));
            var snapshot = new CalendarSnapshot(todays, tomorrows, next, _lastSync, _status, error);
            changed = !Same(snapshot, _snapshot);
            _snapshot = snapshot;
            _window = items;
            // Entries of resources that are gone are forgotten.
            foreach (var k in _parsed.Keys.Where(k => !_states.TryGetValue(k.Source, out var s) || !s.Resources.ContainsKey(k.Href)).ToList())
            {
                _parsed.Remove(k);
            }
        }

        if (changed)
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    private static bool Same(CalendarSnapshot a, CalendarSnapshot b) =>
        a.Today.SequenceEqual(b.Today) && a.Tomorrow.SequenceEqual(b.Tomorrow) && a.Next == b.Next
        && a.LastSync == b.LastSync && a.Status == b.Status && a.Error == b.Error;

    /// <summary>Resources that were refused keep the version the room had, if any.</summary>
    private static SourceState KeepGoodVersions(SourceState previous, SourceState next, List<string> refused)
    {
        if (refused.Count == 0)
        {
            return next;
        }

        var bad = refused.Select(r => r.Split(": ", 2)[0]).ToHashSet(StringComparer.Ordinal);
        var resources = new Dictionary<string, CalendarResource>(StringComparer.Ordinal);
        foreach (var (href, r) in next.Resources)
        {
            if (!bad.Contains(href))
            {
                resources[href] = r;
            }
            else if (previous.Resources.TryGetValue(href, out var old))
            {
                resources[href] = old;
            }
        }

        return next with { Resources = resources };
    }

    private DateTimeOffset ZoneStart(DateTime date)
    {
        var local = DateTime.SpecifyKind(date, DateTimeKind.Unspecified);
        while (_zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(30);
        }

        return new DateTimeOffset(local, _zone.GetUtcOffset(local));
    }

    private void LoadCache()
    {
        if (_cache is null || _sources.Count == 0)
        {
            return;
        }

        try
        {
            if (_cache.Load() is not { } saved)
            {
                return;
            }

            var used = 0;
            foreach (var s in saved.Sources.Where(s => _states.ContainsKey(s.Key)))
            {
                _states[s.Key] = s;
                used++;
            }

            if (used > 0)
            {
                _lastSync = saved.LastSync;
                _logger.LogInformation("Calendar: the offline copy from {LastSync:O} is shown until the first sync", saved.LastSync);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Calendar: the offline copy is not used: {Reason}", ex.Message);
        }
    }

    private void SaveCache(DateTimeOffset now)
    {
        if (_cache is null)
        {
            return;
        }

        try
        {
            List<SourceState> states;
            lock (_gate)
            {
                states = [.. _states.Values];
            }

            _cache.Save(states, now);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Calendar: the offline copy could not be written ({Reason}); the previous one stays", ex.Message);
        }
    }

    private static string Display(string key) => Uri.TryCreate(key, UriKind.Absolute, out var u) ? DavHttp.Where(u) : "calendar";

    private sealed record ParsedResource(string ETag, string WindowKey, IReadOnlyList<AgendaItem> Items, string? Error);
}
