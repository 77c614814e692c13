using System.DirectoryServices.Protocols;
using System.Net;
using System.Text;
using Microsoft.Extensions.Options;

namespace Room.MeetingServer.Identity;

/// <summary>Signs people in against the organisation's directory with an LDAP simple bind (v3).</summary>
public sealed class LdapAuthenticator(IOptions<MeetingServerOptions> options, ILogger<LdapAuthenticator> log)
{
    public bool Configured => options.Value.Ldap.Host is not null;

    /// <summary>True if the directory accepted the bind. Empty passwords are refused here (an LDAP "unauthenticated bind" succeeds).</summary>
    public async Task<bool> BindAsync(string user, string password, CancellationToken ct)
    {
        var o = options.Value.Ldap;
        if (o.Host is null || password.Length == 0 || !Identities.IsValidName(user))
        {
            return false;
        }

        string dn = string.Format(System.Globalization.CultureInfo.InvariantCulture, o.UserDnTemplate, EscapeDnValue(user));
        return await Task.Run(() =>
        {
            using var c = new LdapConnection(new LdapDirectoryIdentifier(o.Host, o.Port)) { AuthType = AuthType.Basic };
            c.SessionOptions.ProtocolVersion = 3;
            c.Timeout = TimeSpan.FromSeconds(10);
            try
            {
                c.Bind(new NetworkCredential(dn, password));
                return true;
            }
            catch (LdapException e) when (e.ErrorCode == 49)
            {
                return false; // invalid credentials
            }
            catch (LdapException e)
            {
                log.LogWarning("directory {Host}:{Port} did not answer the bind for {Dn}: {Error}", o.Host, o.Port, dn, e.Message);
                return false;
            }
        }, ct).ConfigureAwait(false);
    }

    /// <summary>RFC 4514 escaping of an attribute value.</summary>
    internal static string EscapeDnValue(string value)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < value.Length; i++)
        {
            char ch = value[i];
            bool special = ch is ',' or '+' or '"' or '\\' or '<' or '>' or ';' or '=' || (ch == '#' && i == 0) || (ch == ' ' && (i == 0 || i == value.Length - 1));
            if (ch < 0x20)
            {
                sb.Append('\\').Append(((int)ch).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                if (special)
                {
                    sb.Append('\\');
                }

                sb.Append(ch);
            }
        }

        return sb.ToString();
    }
}
