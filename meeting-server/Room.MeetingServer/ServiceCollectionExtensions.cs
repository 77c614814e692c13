using Microsoft.Extensions.Options;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Meetings;
using Room.MeetingServer.Storage;
using Room.MeetingServer.Tenants;

namespace Room.MeetingServer;

public static class ServiceCollectionExtensions
{
    /// <summary>Options (validated at start), the organisation CA, accounts, storage and the meeting service.</summary>
    public static IServiceCollection AddMeetingServer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MeetingServerOptions>().Bind(configuration.GetSection(MeetingServerOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<MeetingServerOptions>, ValidateMeetingServerOptions>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<OrganisationCa>();
        services.AddSingleton<GuestCa>();
        services.AddSingleton<MlsExternalSender>();
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<LdapAuthenticator>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<IMeetingStore>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<MeetingServerOptions>>().Value;
            if (o.Storage == StorageKind.Postgres)
            {
                return new SqlMeetingStore(new PostgresDialect(), o.PostgresConnectionString!);
            }

            Directory.CreateDirectory(o.DataDirectory);
            return new SqlMeetingStore(new SqliteDialect(), $"Data Source={Path.Combine(o.DataDirectory, "meetings.db")};Pooling=False");
        });
        services.AddSingleton<Janus.JanusOrchestrator>();
        services.AddSingleton<MeetingService>();
        services.AddSingleton<GuestService>();
        services.AddTenants();
        return services;
    }
}

/// <summary>Runs <see cref="MeetingServerOptions"/>' own cross-field checks (IValidatableObject) at start.</summary>
internal sealed class ValidateMeetingServerOptions : IValidateOptions<MeetingServerOptions>
{
    public ValidateOptionsResult Validate(string? name, MeetingServerOptions options)
    {
        var errors = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).Select(r => r.ErrorMessage ?? "invalid").ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
