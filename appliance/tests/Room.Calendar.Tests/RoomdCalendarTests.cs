using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Room.Appliance;
using Room.Appliance.BusApi;
using Room.Appliance.Calendar;
using Room.Appliance.Hosting;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Bus.Client;
using Room.Bus.Server;
using Room.Calendar.Scheduling;
using Room.Devices;
using Room.Devices.Simulated;
using Room.Testing;

namespace Room.Calendar.Tests;

/// <summary>
/// roomd's meeting service, calendar, scheduler and bus host, composed as roomd composes them but with a controllable
/// clock, on a private dbus-daemon, syncing a real Radicale that the test fills over CalDAV. What the tests see, they
/// see over D-Bus.
/// </summary>
public sealed class RoomdCalendarTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);
    /// <summary>Sunday 25 October 2026, 07:30 in Berlin (winter time since 03:00 that night).</summary>
    private static readonly DateTimeOffset s_now = new(2026, 10, 25, 6, 30, 0, TimeSpan.Zero);
    /// <summary>Sunday's first instance: 08:00 Berlin = 07:00 UTC.</summary>
    private static readonly DateTimeOffset s_first = new(2026, 10, 25, 7, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(s_now);
    private readonly ConcurrentQueue<string> _log = new();
    private readonly PrivateBus _bus = new();
    private RadicaleServer _radicale = null!;
    private IHost? _host;
    private RoomBusClient _client = null!;

    public async Task InitializeAsync()
    {
        _radicale = await RadicaleServer.StartAsync();
        try
        {
            await FillAsync();
        }
        catch
        {
            // xunit does not dispose a class whose initialisation failed: the server must not outlive the test.
            await _radicale.DisposeAsync();
            throw;
        }
    }

    private async Task FillAsync()
    {
        await _radicale.PutAsync("series.ics", RoomdSeries.Ics());
        await _radicale.PutAsync("private.ics", IcsSamples.Private());
        await _radicale.PutAsync("allday.ics", IcsSamples.AllDay());
        await _radicale.PutAsync("teams.ics", IcsSamples.Single("teams-1", new(2026, 10, 25, 15, 0, 0, TimeSpan.Zero), new(2026, 10, 25, 16, 0, 0, TimeSpan.Zero),
            "Abstimmung Landkreis", "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc"));
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }

        await _radicale.DisposeAsync();
    }

    public void Dispose() => _bus.Dispose();

    private async Task StartRoomdAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Room:Name"] = "Ratssaal",
            ["Room:StateDirectory"] = Path.Combine(_bus.Directory, "state"),
            ["Bus:Address"] = _bus.Address,
            ["Calendar:Sources:0:Kind"] = "caldav",
            ["Calendar:Sources:0:Url"] = _radicale.Calendar.AbsoluteUri,
            ["Calendar:Sources:0:CredentialsFile"] = _radicale.CredentialsFile,
            ["Calendar:TimeZone"] = "Europe/Berlin",
            ["Calendar:MeetingServer"] = "https://meet.example.org",
        });
        builder.Logging.AddProvider(new QueueLoggerProvider(_log));
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        var services = builder.Services;
        services.AddOptions<RoomOptions>().Bind(builder.Configuration.GetSection(RoomOptions.Section));
        services.AddOptions<BusOptions>().Bind(builder.Configuration.GetSection(BusOptions.Section));
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<IDeviceProvider>(new SimulatedDeviceProvider());
        services.AddSingleton<IMeetingTransport>(sp => new LoopbackTransport(_time) { JoinDelay = TimeSpan.Zero, RekeyInterval = TimeSpan.Zero });
        services.AddSingleton<MeetingService>();
        services.AddSingleton<ScheduleService>();
        // As in roomd's Program.cs:
        services.AddSingleton<IRoomCall, MeetingRoomCall>();
        services.AddRoomCalendar(builder.Configuration.GetSection(CalendarOptions.Section), sp => sp.GetRequiredService<IOptions<RoomOptions>>().Value.StateDirectory);
        services.AddSingleton<IBusInterface, MeetingInterface>();
        services.AddSingleton<IBusInterface, CalendarInterface>();
        services.AddSingleton<BusHost>();
        services.AddHostedService(sp => sp.GetRequiredService<BusHost>());
        _host = builder.Build();
        await _host.StartAsync();
        _client = await RoomBusClient.ConnectAsync(_bus.Address);
    }

    private AutoJoinScheduler Scheduler => _host!.Services.GetRequiredService<AutoJoinScheduler>();

    /// <summary>Moves the clock and waits until the scheduler has decided at the new time.</summary>
    private async Task AdvanceToAsync(DateTimeOffset t)
    {
        var decided = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnEvaluated(object? sender, DateTimeOffset at)
        {
            if (at >= t)
            {
                decided.TrySetResult();
            }
        }

        Scheduler.Evaluated += OnEvaluated;
        try
        {
            _time.SetUtcNow(t);
            await decided.Task.WaitAsync(s_patience);
        }
        finally
        {
            Scheduler.Evaluated -= OnEvaluated;
        }
    }

    private async Task<RoomStatus> WaitForAsync(Func<RoomStatus, bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        RoomStatus status;
        while (!condition(status = await StatusAsync()))
        {
            Assert.True(sw.Elapsed < s_patience, $"{what} not reached; last status: {status}\n{string.Join('\n', _log)}");
            await Task.Delay(20);
        }

        return status;
    }

    /// <summary>What roomd publishes on the two interfaces this composition has.</summary>
    private async Task<RoomStatus> StatusAsync() =>
        RoomStatus.Empty
            .Apply(BusNames.Meeting, await _client.GetAllAsync(BusNames.Meeting))
            .Apply(BusNames.Calendar, await _client.GetAllAsync(BusNames.Calendar));

    private static string Line(AgendaEntry e) => $"{e.Start.UtcDateTime:dd HH:mm}-{e.End.UtcDateTime:HH:mm} {e.Title} [{e.Provider}{(e.Joinable ? ", joinable" : "")}]";

    [Fact]
    public async Task Events_created_over_CalDAV_appear_on_DBus_after_one_sync()
    {
        await StartRoomdAsync();
        var c = (await WaitForAsync(s => s.Calendar.SyncState == "ok", "the first sync")).Calendar;

        // Today, Sunday (winter time, UTC+1), the series began on Saturday in summer time: still 08, 12:30 (moved), 14
        // local; 10:00 is excluded (EXDATE).
        Assert.Equal(
        [
            "25 07:00-08:00 Bauausschuss [meeting-server, joinable]",
            "25 11:30-12:30 Bauausschuss (verlegt) [meeting-server, joinable]",
            "25 13:00-14:00 Bauausschuss [meeting-server, joinable]",
            "25 15:00-16:00 Abstimmung Landkreis [teams]",
        ], c.Today.Select(Line));
        // Monday: the 10:00 instance is cancelled; a private meeting without its title; an all-day event.
        Assert.Equal(
        [
            "25 23:00-23:00 Tag der offenen Tür [none]",
            "26 07:00-08:00 Bauausschuss [meeting-server, joinable]",
            "26 11:00-12:00 Bauausschuss [meeting-server, joinable]",
            "26 13:00-14:00 Private meeting [room, joinable]",
            "26 13:00-14:00 Bauausschuss [meeting-server, joinable]",
        ], c.Tomorrow.Select(Line));
        Assert.True(c.Tomorrow[0].AllDay);
        Assert.True(c.Tomorrow.Single(e => e.Private).Private);
        Assert.DoesNotContain(c.Tomorrow, e => e.Title.Contains("Müller", StringComparison.Ordinal));
        Assert.Equal("Bauausschuss", c.Next?.Title);
        Assert.Equal(s_first, c.Next?.Start);
        Assert.Equal(s_now, c.LastSync);
        Assert.Equal("", c.SyncError);
        // The password is in no log line.
        Assert.DoesNotContain(_log, l => l.Contains(RadicaleServer.Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_scheduler_joins_at_T_minus_60_s_and_leaves_at_the_end()
    {
        await StartRoomdAsync();
        await WaitForAsync(s => s.Calendar.SyncState == "ok", "the first sync");

        await AdvanceToAsync(s_first.AddSeconds(-61));
        Assert.Equal(MeetingStates.Idle, (await StatusAsync()).Meeting.State);

        await AdvanceToAsync(s_first.AddSeconds(-60));
        var joined = await WaitForAsync(s => s.Meeting.State == MeetingStates.InCall, "the call");
        Assert.Equal(RoomdSeries.Url, joined.Meeting.Uri);
        Assert.Equal(s_first.AddSeconds(-60), joined.Meeting.StartedAt);

        await AdvanceToAsync(s_first.AddHours(1).AddSeconds(-1));
        Assert.Equal(MeetingStates.InCall, (await StatusAsync()).Meeting.State);

        await AdvanceToAsync(s_first.AddHours(1));
        await WaitForAsync(s => s.Meeting.State == MeetingStates.Idle, "leaving at the end");
        Assert.Contains(_log, l => l.Contains("joining 'Bauausschuss'", StringComparison.Ordinal) && l.Contains("60 s before its start", StringComparison.Ordinal));
        Assert.Contains(_log, l => l.Contains("leaving 'Bauausschuss'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Editing_the_event_on_the_server_moves_the_join()
    {
        await StartRoomdAsync();
        await WaitForAsync(s => s.Calendar.SyncState == "ok", "the first sync");

        await _radicale.PutAsync("series.ics", RoomdSeries.Ics(firstMovedTo: "083000"));
        await _client.SyncCalendarAsync();
        var moved = s_first.AddMinutes(30);
        await WaitForAsync(s => s.Calendar.Next?.Start == moved, "the moved meeting on D-Bus");

        await AdvanceToAsync(s_first.AddSeconds(-60));
        Assert.Equal(MeetingStates.Idle, (await StatusAsync()).Meeting.State);

        await AdvanceToAsync(moved.AddSeconds(-60));
        var joined = await WaitForAsync(s => s.Meeting.State == MeetingStates.InCall, "the call at the new time");
        Assert.Equal(moved.AddSeconds(-60), joined.Meeting.StartedAt);
    }

    [Fact]
    public async Task A_call_started_by_hand_is_not_interrupted()
    {
        await StartRoomdAsync();
        await WaitForAsync(s => s.Calendar.SyncState == "ok", "the first sync");
        const string adHoc = "test-loopback://ratssaal.example.org/ad-hoc";
        await _client.JoinAsync(adHoc);
        await WaitForAsync(s => s.Meeting.State == MeetingStates.InCall, "the hand-started call");

        await AdvanceToAsync(s_first.AddSeconds(-60));
        await AdvanceToAsync(s_first.AddMinutes(30));
        await AdvanceToAsync(s_first.AddHours(1).AddMinutes(1));

        var s = await StatusAsync();
        Assert.Equal((MeetingStates.InCall, adHoc), (s.Meeting.State, s.Meeting.Uri));
        Assert.Contains(_log, l => l.Contains("not joining 'Bauausschuss'", StringComparison.Ordinal) && l.Contains("started by hand", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_the_server_gone_the_synced_agenda_stays_and_the_state_says_offline()
    {
        await StartRoomdAsync();
        var before = (await WaitForAsync(s => s.Calendar.SyncState == "ok", "the first sync")).Calendar;
        await _radicale.StopAsync();

        await _client.SyncCalendarAsync();
        var after = (await WaitForAsync(s => s.Calendar.SyncState == "offline", "offline")).Calendar;

        Assert.Equal(before.Today, after.Today);
        Assert.Equal(before.LastSync, after.LastSync);
        Assert.Contains("cannot be reached", after.SyncError, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_bus.Directory, "state", "calendar-cache.json")));
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(lines);

        public void Dispose()
        {
        }

        private sealed class QueueLogger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception));
        }
    }
}
