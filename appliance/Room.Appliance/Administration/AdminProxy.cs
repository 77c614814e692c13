using System.Net;

namespace Room.Appliance.Administration;

/// <summary>
/// The administrator's HTTP(S) proxy (Admin.SetProxy) for roomd's own outgoing HTTP: read at each request, so a change
/// applies to the next one. With a proxy set, every request goes through it (https by CONNECT); with none, every
/// request goes direct. The URL never holds credentials (refused by <see cref="AdminSettingsRules.Proxy"/>).
/// </summary>
public sealed class AdminProxy(AdminSettingsStore settings) : IWebProxy
{
    public ICredentials? Credentials { get; set; }

    public Uri? GetProxy(Uri destination) => Current() ?? destination;

    public bool IsBypassed(Uri host) => Current() is null;

    private Uri? Current() => settings.Current.Proxy is { Length: > 0 } p ? new Uri(p) : null;
}
