using System.Data;
using System.Data.Common;

namespace Room.MeetingServer.Storage;

/// <summary>
/// Runs units of work on one database, each in its own connection and serializable transaction, for the stores on it
/// (<see cref="SqlMeetingStore"/>, the operator's TenantStore); plain ADO.NET with parameters.
/// </summary>
public sealed class SqlRunner(SqlDialect dialect, string connectionString) : IDisposable
{
    // SQLite allows one writer: a process-wide gate keeps this process's writers from meeting SQLITE_BUSY in a loop.
    private readonly SemaphoreSlim _gate = new(1, 1);

    public SqlDialect Dialect => dialect;

    public void Dispose() => _gate.Dispose();

    public async Task<T> RunAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(() =>
            {
                using var c = dialect.Open(connectionString);
                dialect.Prepare(c);
                using var tx = c.BeginTransaction(IsolationLevel.Serializable);
                var result = work(c, tx);
                tx.Commit();
                return result;
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static DbCommand Cmd(DbConnection c, DbTransaction tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // every SQL text is a constant of the stores; values go in parameters
        cmd.CommandText = sql;
#pragma warning restore CA2100
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }

        return cmd;
    }

    public static int Exec(DbConnection c, DbTransaction tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Cmd(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    public static List<T> Query<T>(DbConnection c, DbTransaction tx, Func<DbDataReader, T> row, string sql, params (string, object?)[] args)
    {
        using var cmd = Cmd(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read())
        {
            list.Add(row(r));
        }

        return list;
    }
}
