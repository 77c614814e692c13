namespace Room.Rtc;

/// <summary>Why a packet or message from the network was rejected. Every parser in Room.Rtc reports one of these.</summary>
public enum RtcError
{
    None = 0,
    Truncated,
    BadVersion,
    BadLength,
    BadPadding,
    BadHeaderExtension,
    BadMagicCookie,
    BadAttribute,
    BadType,
    BadFingerprint,
    BadIntegrity,
    AuthenticationFailed,
    Replayed,
    TooOld,
    TooLarge,
    BadSyntax,
    Unsupported,
}

/// <summary>Thrown where a parser of outside input is used in throwing form; carries the typed reason.</summary>
public sealed class RtcFormatException : FormatException
{
    public RtcFormatException(RtcError error, string message) : base(message) => Error = error;

    public RtcFormatException() : this(RtcError.BadSyntax, "malformed input") { }

    public RtcFormatException(string message) : this(RtcError.BadSyntax, message) { }

    public RtcFormatException(string message, Exception inner) : base(message, inner) => Error = RtcError.BadSyntax;

    public RtcError Error { get; }
}
