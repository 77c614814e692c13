using System.ComponentModel.DataAnnotations;

namespace Room.Fleet.Channel;

/// <summary>
/// The fleet broker and this room's identity on it ("Fleet:Channel" in room.json). The certificate and key are the
/// device's from enrolment (its CN is the room's identity, <c>device:NAME</c>); the CA is the one the broker's
/// certificate must chain to.
/// </summary>
public sealed class FleetChannelOptions
{
    public const string Section = "Fleet:Channel";

    [Required]
    public string Host { get; set; } = "";

    [Range(1, 65535)]
    public int Port { get; set; } = 8883;

    /// <summary>PEM file of the CA that issued the broker's certificate.</summary>
    [Required]
    public string CaFile { get; set; } = "";

    /// <summary>PEM file of this client's certificate.</summary>
    [Required]
    public string CertificateFile { get; set; } = "";

    /// <summary>PEM file of this client's private key.</summary>
    [Required]
    public string KeyFile { get; set; } = "";

    /// <summary>Groups whose jobs this room reads (the broker's ACL must allow them).</summary>
    public IList<string> Groups { get; init; } = [];

    [Range(5, 3600)]
    public int KeepAliveSeconds { get; set; } = 30;
}
