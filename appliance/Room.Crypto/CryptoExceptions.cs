namespace Room.Crypto;

/// <summary>Root of every error Room.Crypto raises on bad input or failed authentication.</summary>
public class RoomCryptoException : Exception
{
    public RoomCryptoException() { }
    public RoomCryptoException(string message) : base(message) { }
    public RoomCryptoException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>An SFrame header or ciphertext was malformed, truncated, non-canonical, or failed to authenticate.</summary>
public class SFrameException : RoomCryptoException
{
    public SFrameException() { }
    public SFrameException(string message) : base(message) { }
    public SFrameException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>HPKE failure (bad public key, failed open).</summary>
public class HpkeException : RoomCryptoException
{
    public HpkeException() { }
    public HpkeException(string message) : base(message) { }
    public HpkeException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>An MLS protocol rule was violated (bad signature, wrong epoch, invalid tree, ...).</summary>
public class MlsException : RoomCryptoException
{
    public MlsException() { }
    public MlsException(string message) : base(message) { }
    public MlsException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>MLS wire data was malformed, truncated, oversized or non-canonical.</summary>
public class MlsDecodeException : MlsException
{
    public MlsDecodeException() { }
    public MlsDecodeException(string message) : base(message) { }
    public MlsDecodeException(string message, Exception inner) : base(message, inner) { }
}
