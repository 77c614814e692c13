namespace Room.Rtc.Ice;

/// <summary>Where an <see cref="IceAgent"/> stands (RFC 8445 6.1.3 and RFC 7675 for consent).</summary>
public enum IceState { New, Checking, Connected, Disconnected, Failed, Closed }
