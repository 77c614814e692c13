using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Room.MeetingServer.Storage;

/// <summary>What differs between the SQL databases the store runs on.</summary>
public abstract class SqlDialect
{
    public abstract string Blob { get; }

    /// <summary>An open connection.</summary>
    public DbConnection Open(string connectionString)
    {
        var c = Create(connectionString);
        try
        {
            c.Open();
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    protected abstract DbConnection Create(string connectionString);

    public abstract bool IsUniqueViolation(DbException e);

    /// <summary>Run once per connection before use (SQLite: busy timeout, foreign keys).</summary>
    public virtual void Prepare(DbConnection connection)
    {
    }
}

public sealed class SqliteDialect : SqlDialect
{
    public override string Blob => "BLOB";

    protected override DbConnection Create(string connectionString) => new SqliteConnection(connectionString);

    // SQLITE_CONSTRAINT (19): a primary key or unique index refused the row.
    public override bool IsUniqueViolation(DbException e) => e is SqliteException { SqliteErrorCode: 19 };

    public override void Prepare(DbConnection connection)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";
        cmd.ExecuteNonQuery();
    }
}

public sealed class PostgresDialect : SqlDialect
{
    public override string Blob => "BYTEA";

    protected override DbConnection Create(string connectionString) => new NpgsqlConnection(connectionString);

    public override bool IsUniqueViolation(DbException e) => e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}
