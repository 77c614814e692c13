using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using static Room.MeetingServer.Storage.SqlRunner;

namespace Room.MeetingServer.Storage;

/// <summary><see cref="IMeetingStore"/> on SQLite or PostgreSQL (plain ADO.NET; one SQL text, the dialect differs).</summary>
public sealed class SqlMeetingStore(SqlDialect dialect, string connectionString) : IMeetingStore, IDisposable
{
    public void Dispose() => _sql.Dispose();

    private readonly SqlRunner _sql = new(dialect, connectionString);

    private Task<T> RunAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken ct) => _sql.RunAsync(work, ct);

    public Task InitializeAsync(CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        string b = dialect.Blob;
        string[] ddl =
        [
            "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, is_admin BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS enrolment_codes (code_hash TEXT PRIMARY KEY, device_name TEXT NOT NULL, created_by TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)",
            "CREATE TABLE IF NOT EXISTS devices (name TEXT PRIMARY KEY, cert_serial TEXT NOT NULL, enrolled_at BIGINT NOT NULL, revoked BIGINT NOT NULL)",
            $"CREATE TABLE IF NOT EXISTS meetings (id TEXT PRIMARY KEY, title TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL, locked BIGINT NOT NULL, ended BIGINT NOT NULL, epoch BIGINT, group_info {b})",
            "CREATE TABLE IF NOT EXISTS participants (meeting_id TEXT NOT NULL REFERENCES meetings(id), identity TEXT NOT NULL, role BIGINT NOT NULL, state BIGINT NOT NULL, PRIMARY KEY (meeting_id, identity))",
            $"CREATE TABLE IF NOT EXISTS key_packages (ref TEXT PRIMARY KEY, identity TEXT NOT NULL, data {b} NOT NULL, last_resort BIGINT NOT NULL, used BIGINT NOT NULL, seq BIGINT NOT NULL)",
            $"CREATE TABLE IF NOT EXISTS handshakes (meeting_id TEXT NOT NULL REFERENCES meetings(id), epoch BIGINT NOT NULL, sender TEXT NOT NULL, data {b} NOT NULL, PRIMARY KEY (meeting_id, epoch))",
            $"CREATE TABLE IF NOT EXISTS proposals (meeting_id TEXT NOT NULL REFERENCES meetings(id), epoch BIGINT NOT NULL, leaf BIGINT NOT NULL, leaf_key TEXT NOT NULL, reason TEXT NOT NULL, seq BIGINT NOT NULL, data {b} NOT NULL, PRIMARY KEY (meeting_id, epoch, leaf))",
            "CREATE TABLE IF NOT EXISTS guest_invitations (id TEXT PRIMARY KEY, meeting_id TEXT NOT NULL REFERENCES meetings(id), name TEXT NOT NULL, invited_by TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT, revoked_at BIGINT)",
            $"CREATE TABLE IF NOT EXISTS welcomes (meeting_id TEXT NOT NULL REFERENCES meetings(id), identity TEXT NOT NULL, epoch BIGINT NOT NULL, data {b} NOT NULL, PRIMARY KEY (meeting_id, identity, epoch))",
        ];
        foreach (var s in ddl)
        {
            Exec(c, tx, s);
        }

        return 0;
    }, ct);

    public async Task<bool> AddUserAsync(UserRecord user, CancellationToken ct = default)
    {
        try
        {
            return await RunAsync((c, tx) => Exec(c, tx, "INSERT INTO users (name, password_hash, is_admin) VALUES (@n, @h, @a)",
                ("@n", user.Name), ("@h", user.PasswordHash), ("@a", user.IsAdmin ? 1L : 0L)) == 1, ct).ConfigureAwait(false);
        }
        catch (DbException e) when (dialect.IsUniqueViolation(e))
        {
            return false;
        }
    }

    public Task<UserRecord?> GetUserAsync(string name, CancellationToken ct = default) => RunAsync((c, tx) =>
        Query(c, tx, r => new UserRecord(r.GetString(0), r.GetString(1), r.GetInt64(2) != 0), "SELECT name, password_hash, is_admin FROM users WHERE name = @n", ("@n", name)).FirstOrDefault(), ct);

    public Task AddEnrolmentCodeAsync(string codeHash, string deviceName, string createdBy, long expiresAt, CancellationToken ct = default) => RunAsync((c, tx) =>
        Exec(c, tx, "INSERT INTO enrolment_codes (code_hash, device_name, created_by, expires_at) VALUES (@h, @d, @c, @e)",
            ("@h", codeHash), ("@d", deviceName), ("@c", createdBy), ("@e", expiresAt)), ct);

    public Task<string?> ConsumeEnrolmentCodeAsync(string codeHash, long now, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        int n = Exec(c, tx, "UPDATE enrolment_codes SET used_at = @now WHERE code_hash = @h AND used_at IS NULL AND expires_at > @now", ("@h", codeHash), ("@now", now));
        return n == 1 ? Query(c, tx, r => r.GetString(0), "SELECT device_name FROM enrolment_codes WHERE code_hash = @h", ("@h", codeHash)).Single() : null;
    }, ct);

    public Task PutDeviceAsync(DeviceRecord device, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        Exec(c, tx, "DELETE FROM devices WHERE name = @n", ("@n", device.Name));
        return Exec(c, tx, "INSERT INTO devices (name, cert_serial, enrolled_at, revoked) VALUES (@n, @s, @t, @r)",
            ("@n", device.Name), ("@s", device.CertificateSerial), ("@t", device.EnrolledAt), ("@r", device.Revoked ? 1L : 0L));
    }, ct);

    public Task<DeviceRecord?> GetDeviceAsync(string name, CancellationToken ct = default) => RunAsync((c, tx) =>
        Query(c, tx, r => new DeviceRecord(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3) != 0),
            "SELECT name, cert_serial, enrolled_at, revoked FROM devices WHERE name = @n", ("@n", name)).FirstOrDefault(), ct);

    public Task<bool> RevokeDeviceAsync(string name, CancellationToken ct = default) => RunAsync((c, tx) =>
        Exec(c, tx, "UPDATE devices SET revoked = 1 WHERE name = @n", ("@n", name)) == 1, ct);

    public Task CreateMeetingAsync(MeetingRecord meeting, IReadOnlyList<ParticipantRecord> participants, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        Exec(c, tx, "INSERT INTO meetings (id, title, created_by, created_at, locked, ended) VALUES (@i, @t, @c, @at, 0, 0)",
            ("@i", meeting.Id), ("@t", meeting.Title), ("@c", meeting.CreatedBy), ("@at", meeting.CreatedAt));
        foreach (var p in participants)
        {
            PutParticipant(c, tx, p);
        }

        return 0;
    }, ct);

    private static MeetingRecord ReadMeeting(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4) != 0, r.GetInt64(5) != 0,
        r.IsDBNull(6) ? null : r.GetInt64(6), r.IsDBNull(7) ? null : (byte[])r.GetValue(7));

    public Task<MeetingRecord?> GetMeetingAsync(string id, CancellationToken ct = default) => RunAsync((c, tx) =>
        Query(c, tx, ReadMeeting, "SELECT id, title, created_by, created_at, locked, ended, epoch, group_info FROM meetings WHERE id = @i", ("@i", id)).FirstOrDefault(), ct);

    public Task SetMeetingFlagsAsync(string id, bool? locked, bool? ended, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        if (locked is { } l)
        {
            Exec(c, tx, "UPDATE meetings SET locked = @l WHERE id = @i", ("@i", id), ("@l", l ? 1L : 0L));
        }

        if (ended is { } e)
        {
            Exec(c, tx, "UPDATE meetings SET ended = @e WHERE id = @i", ("@i", id), ("@e", e ? 1L : 0L));
        }

        return 0;
    }, ct);

    private static void PutParticipant(DbConnection c, DbTransaction tx, ParticipantRecord p)
    {
        Exec(c, tx, "DELETE FROM participants WHERE meeting_id = @m AND identity = @i", ("@m", p.MeetingId), ("@i", p.Identity));
        Exec(c, tx, "INSERT INTO participants (meeting_id, identity, role, state) VALUES (@m, @i, @r, @s)",
            ("@m", p.MeetingId), ("@i", p.Identity), ("@r", (long)p.Role), ("@s", (long)p.State));
    }

    public Task PutParticipantAsync(ParticipantRecord participant, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        PutParticipant(c, tx, participant);
        return 0;
    }, ct);

    private static ParticipantRecord ReadParticipant(DbDataReader r) => new(r.GetString(0), r.GetString(1), (ParticipantRole)r.GetInt64(2), (ParticipantState)r.GetInt64(3));

    public Task<ParticipantRecord?> GetParticipantAsync(string meetingId, string identity, CancellationToken ct = default) => RunAsync((c, tx) =>
        Query(c, tx, ReadParticipant, "SELECT meeting_id, identity, role, state FROM participants WHERE meeting_id = @m AND identity = @i", ("@m", meetingId), ("@i", identity)).FirstOrDefault(), ct);

    public Task<IReadOnlyList<ParticipantRecord>> ListParticipantsAsync(string meetingId, CancellationToken ct = default) => RunAsync<IReadOnlyList<ParticipantRecord>>((c, tx) =>
        Query(c, tx, ReadParticipant, "SELECT meeting_id, identity, role, state FROM participants WHERE meeting_id = @m ORDER BY identity", ("@m", meetingId)), ct);

    public Task<IReadOnlyList<(MeetingRecord Meeting, ParticipantRecord Me)>> ListMeetingsOfAsync(string identity, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<(MeetingRecord, ParticipantRecord)>>((c, tx) =>
            Query(c, tx, r => (ReadMeeting(r), new ParticipantRecord(r.GetString(0), r.GetString(8), (ParticipantRole)r.GetInt64(9), (ParticipantState)r.GetInt64(10))),
                "SELECT m.id, m.title, m.created_by, m.created_at, m.locked, m.ended, m.epoch, NULL, p.identity, p.role, p.state FROM meetings m " +
                "JOIN participants p ON p.meeting_id = m.id WHERE p.identity = @i ORDER BY m.created_at DESC, m.id", ("@i", identity)), ct);

    public async Task<bool> AddKeyPackageAsync(byte[] reference, string identity, byte[] keyPackage, bool lastResort, CancellationToken ct = default)
    {
        try
        {
            return await RunAsync((c, tx) =>
            {
                if (lastResort)
                {
                    // One last-resort KeyPackage per identity: a new one replaces the old (which stays known by reference).
                    Exec(c, tx, "UPDATE key_packages SET used = 1 WHERE identity = @i AND last_resort = 1", ("@i", identity));
                }

                long seq = Query(c, tx, r => r.IsDBNull(0) ? 0L : r.GetInt64(0), "SELECT MAX(seq) FROM key_packages").Single() + 1;
                return Exec(c, tx, "INSERT INTO key_packages (ref, identity, data, last_resort, used, seq) VALUES (@r, @i, @d, @l, 0, @s)",
                    ("@r", Convert.ToHexString(reference)), ("@i", identity), ("@d", keyPackage), ("@l", lastResort ? 1L : 0L), ("@s", seq)) == 1;
            }, ct).ConfigureAwait(false);
        }
        catch (DbException e) when (dialect.IsUniqueViolation(e))
        {
            return false;
        }
    }

    public Task<byte[]?> ClaimKeyPackageAsync(string identity, CancellationToken ct = default) => RunAsync<byte[]?>((c, tx) =>
    {
        var one = Query(c, tx, r => (r.GetString(0), (byte[])r.GetValue(1)),
            "SELECT ref, data FROM key_packages WHERE identity = @i AND last_resort = 0 AND used = 0 ORDER BY seq LIMIT 1", ("@i", identity));
        if (one.Count == 1)
        {
            Exec(c, tx, "UPDATE key_packages SET used = 1 WHERE ref = @r", ("@r", one[0].Item1));
            return one[0].Item2;
        }

        return Query(c, tx, r => (byte[])r.GetValue(0), "SELECT data FROM key_packages WHERE identity = @i AND last_resort = 1 AND used = 0", ("@i", identity)).FirstOrDefault();
    }, ct);

    public Task<string?> KeyPackageOwnerAsync(byte[] reference, CancellationToken ct = default) => RunAsync((c, tx) =>
        Query(c, tx, r => r.GetString(0), "SELECT identity FROM key_packages WHERE ref = @r", ("@r", Convert.ToHexString(reference))).FirstOrDefault(), ct);

    public Task<bool> InitGroupAsync(string meetingId, long epoch, byte[] groupInfo, CancellationToken ct = default) => RunAsync((c, tx) =>
        Exec(c, tx, "UPDATE meetings SET epoch = @e, group_info = @g WHERE id = @i AND epoch IS NULL", ("@i", meetingId), ("@e", epoch), ("@g", groupInfo)) == 1, ct);

    public async Task<bool> AppendCommitAsync(CommitAppend commit, CancellationToken ct = default)
    {
        try
        {
            return await RunAsync((c, tx) =>
            {
                // Only the current epoch takes a commit; the primary key (meeting_id, epoch) admits one commit per epoch
                // even when two transactions race past this check (PostgreSQL: unique or serialization failure).
                long? current = Query(c, tx, r => r.IsDBNull(0) ? (long?)null : r.GetInt64(0), "SELECT epoch FROM meetings WHERE id = @m", ("@m", commit.MeetingId)).FirstOrDefault();
                if (current != commit.Epoch)
                {
                    return false;
                }

                Exec(c, tx, "INSERT INTO handshakes (meeting_id, epoch, sender, data) VALUES (@m, @e, @s, @d)",
                    ("@m", commit.MeetingId), ("@e", commit.Epoch), ("@s", commit.Sender), ("@d", commit.Message));
                Exec(c, tx, "UPDATE meetings SET epoch = @next, group_info = @g WHERE id = @m AND epoch = @e",
                    ("@m", commit.MeetingId), ("@e", commit.Epoch), ("@next", commit.Epoch + 1), ("@g", commit.NextGroupInfo));
                foreach (var (identity, welcome) in commit.Welcomes)
                {
                    Exec(c, tx, "INSERT INTO welcomes (meeting_id, identity, epoch, data) VALUES (@m, @i, @e, @d)",
                        ("@m", commit.MeetingId), ("@i", identity), ("@e", commit.Epoch + 1), ("@d", welcome));
                }

                return true;
            }, ct).ConfigureAwait(false);
        }
        catch (DbException e) when (dialect.IsUniqueViolation(e) || e is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure })
        {
            return false;
        }
    }

    public Task<IReadOnlyList<HandshakeRecord>> GetHandshakesAsync(string meetingId, long fromEpoch, CancellationToken ct = default) => RunAsync<IReadOnlyList<HandshakeRecord>>((c, tx) =>
        Query(c, tx, r => new HandshakeRecord(r.GetInt64(0), r.GetString(1), (byte[])r.GetValue(2)),
            "SELECT epoch, sender, data FROM (" +
            "SELECT epoch, 'server' AS sender, data, 0 AS kind, seq FROM proposals WHERE meeting_id = @m AND epoch >= @e " +
            "UNION ALL SELECT epoch, sender, data, 1 AS kind, 0 AS seq FROM handshakes WHERE meeting_id = @m AND epoch >= @e) h ORDER BY epoch, kind, seq",
            ("@m", meetingId), ("@e", fromEpoch)), ct);

    public Task AddProposalsAsync(string meetingId, IReadOnlyList<ProposalRecord> proposals, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        foreach (var p in proposals)
        {
            bool known = Query(c, tx, r => r.GetInt64(0), "SELECT COUNT(*) FROM proposals WHERE meeting_id = @m AND epoch = @e AND leaf = @l",
                ("@m", meetingId), ("@e", p.Epoch), ("@l", p.Leaf)).Single() > 0;
            if (known)
            {
                continue;
            }

            long seq = Query(c, tx, r => r.IsDBNull(0) ? 0L : r.GetInt64(0), "SELECT MAX(seq) FROM proposals WHERE meeting_id = @m", ("@m", meetingId)).Single() + 1;
            Exec(c, tx, "INSERT INTO proposals (meeting_id, epoch, leaf, leaf_key, reason, seq, data) VALUES (@m, @e, @l, @k, @r, @s, @d)",
                ("@m", meetingId), ("@e", p.Epoch), ("@l", p.Leaf), ("@k", p.LeafKey), ("@r", p.Reason), ("@s", seq), ("@d", p.Message));
        }

        return 0;
    }, ct);

    public Task<IReadOnlyList<ProposalRecord>> GetProposalsAsync(string meetingId, long epoch, CancellationToken ct = default) => RunAsync<IReadOnlyList<ProposalRecord>>((c, tx) =>
        Query(c, tx, r => new ProposalRecord(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), (byte[])r.GetValue(4)),
            "SELECT epoch, leaf, leaf_key, reason, data FROM proposals WHERE meeting_id = @m AND epoch = @e ORDER BY seq", ("@m", meetingId), ("@e", epoch)), ct);

    public Task<IReadOnlyList<string>> ActiveMeetingsOfAsync(string identity, CancellationToken ct = default) => RunAsync<IReadOnlyList<string>>((c, tx) =>
        Query(c, tx, r => r.GetString(0),
            "SELECT m.id FROM meetings m JOIN participants p ON p.meeting_id = m.id WHERE p.identity = @i AND m.ended = 0 AND m.epoch IS NOT NULL ORDER BY m.id",
            ("@i", identity)), ct);

    public Task<int> CountMeetingsInProgressAsync(CancellationToken ct = default) => RunAsync((c, tx) =>
        (int)Query(c, tx, r => r.GetInt64(0), "SELECT COUNT(*) FROM meetings WHERE ended = 0 AND epoch IS NOT NULL").Single(), ct);

    public Task<IReadOnlyList<WelcomeRecord>> GetWelcomesAsync(string meetingId, string identity, CancellationToken ct = default) => RunAsync<IReadOnlyList<WelcomeRecord>>((c, tx) =>
        Query(c, tx, r => new WelcomeRecord(r.GetInt64(0), (byte[])r.GetValue(1)),
            "SELECT epoch, data FROM welcomes WHERE meeting_id = @m AND identity = @i ORDER BY epoch", ("@m", meetingId), ("@i", identity)), ct);

    private const string InvitationColumns = "id, meeting_id, name, invited_by, token_hash, created_at, expires_at, used_at, revoked_at";

    private static GuestInvitationRecord ReadInvitation(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
        r.GetInt64(5), r.GetInt64(6), r.IsDBNull(7) ? null : r.GetInt64(7), r.IsDBNull(8) ? null : r.GetInt64(8));

    public Task AddGuestInvitationAsync(GuestInvitationRecord invitation, CancellationToken ct = default) => RunAsync((c, tx) =>
        Exec(c, tx, $"INSERT INTO guest_invitations ({InvitationColumns}) VALUES (@id, @m, @n, @b, @h, @c, @e, NULL, NULL)",
            ("@id", invitation.Id), ("@m", invitation.MeetingId), ("@n", invitation.Name), ("@b", invitation.InvitedBy), ("@h", invitation.TokenHash), ("@c", invitation.CreatedAt), ("@e", invitation.ExpiresAt)), ct);

    public Task<(RedeemOutcome Outcome, GuestInvitationRecord? Invitation)> RedeemGuestInvitationAsync(string tokenHash, long now, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        var i = Query(c, tx, ReadInvitation, $"SELECT {InvitationColumns} FROM guest_invitations WHERE token_hash = @h", ("@h", tokenHash)).FirstOrDefault();
        if (i is null)
        {
            return (RedeemOutcome.Unknown, (GuestInvitationRecord?)null);
        }

        if (i.RevokedAt is not null)
        {
            return (RedeemOutcome.Revoked, i);
        }

        if (i.UsedAt is not null)
        {
            return (RedeemOutcome.Used, i);
        }

        if (i.ExpiresAt <= now)
        {
            return (RedeemOutcome.Expired, i);
        }

        // The condition again in the UPDATE: of two redemptions at once only one changes the row.
        if (Exec(c, tx, "UPDATE guest_invitations SET used_at = @now WHERE id = @id AND used_at IS NULL AND revoked_at IS NULL", ("@id", i.Id), ("@now", now)) != 1)
        {
            return (RedeemOutcome.Used, i);
        }

        PutParticipant(c, tx, new ParticipantRecord(i.MeetingId, "guest:" + i.Id, ParticipantRole.Participant, ParticipantState.Waiting));
        return (RedeemOutcome.Redeemed, i with { UsedAt = now });
    }, ct);

    public Task<GuestInvitationRecord?> GetGuestInvitationAsync(string id, CancellationToken ct = default) => RunAsync((c, tx) =>
        Query(c, tx, ReadInvitation, $"SELECT {InvitationColumns} FROM guest_invitations WHERE id = @id", ("@id", id)).FirstOrDefault(), ct);

    public Task<IReadOnlyList<GuestInvitationRecord>> ListGuestInvitationsAsync(string meetingId, CancellationToken ct = default) => RunAsync<IReadOnlyList<GuestInvitationRecord>>((c, tx) =>
        Query(c, tx, ReadInvitation, $"SELECT {InvitationColumns} FROM guest_invitations WHERE meeting_id = @m ORDER BY created_at, id", ("@m", meetingId)), ct);

    public Task<bool> RevokeGuestInvitationAsync(string id, long now, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        Exec(c, tx, "UPDATE guest_invitations SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL", ("@id", id), ("@now", now));
        return Query(c, tx, r => r.GetString(0), "SELECT id FROM guest_invitations WHERE id = @id", ("@id", id)).Count == 1;
    }, ct);
}
