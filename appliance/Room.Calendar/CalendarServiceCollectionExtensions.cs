using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Room.Calendar.CalDav;
using Room.Calendar.Scheduling;
using Room.Calendar.Storage;

namespace Room.Calendar;

public static class CalendarServiceCollectionExtensions
{
    /// <summary>
    /// The calendar (options from <paramref name="section"/>, validated at start), its sources, offline cache, sync
    /// service and auto-join scheduler, each registered as a hosted service. The host must register an
    /// <see cref="IRoomCall"/> and a <see cref="TimeProvider"/>.
    /// </summary>
    /// <param name="defaultCacheDirectory">Where the offline copy goes when Calendar:CacheFile is not set.</param>
    public static IServiceCollection AddRoomCalendar(this IServiceCollection services, IConfiguration section, Func<IServiceProvider, string> defaultCacheDirectory)
    {
        services.AddOptions<CalendarOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CalendarOptions>>().Value;
            // The host's IWebProxy, when it registers one (roomd: the administrator's proxy setting).
            return new DavHttp(TimeSpan.FromSeconds(o.RequestTimeoutSeconds), o.MaxResponseBytes, proxy: sp.GetService<System.Net.IWebProxy>());
        });
        services.AddSingleton<IEnumerable<ICalendarSource>>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CalendarOptions>>().Value;
            var http = sp.GetRequiredService<DavHttp>();
            return o.Sources.Select(s => s.Kind == "ics"
                ? (ICalendarSource)new IcsFeedSource(new Uri(s.Url), s.CredentialsFile, http)
                : new CalDavSource(new Uri(s.Url), s.CredentialsFile, http)).ToList();
        });
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CalendarOptions>>().Value;
            return new AgendaCache(o.CacheFile.Length > 0 ? o.CacheFile : Path.Combine(defaultCacheDirectory(sp), "calendar-cache.json"));
        });
        services.AddSingleton<CalendarService>();
        services.AddSingleton<AutoJoinScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<CalendarService>());
        services.AddHostedService(sp => sp.GetRequiredService<AutoJoinScheduler>());
        return services;
    }
}
