using System.Text.RegularExpressions;
using Room.Appliance.Meeting;

namespace Room.Appliance.Tests;

public class SecurityCodesTests
{
    [Fact]
    public void The_same_authenticator_gives_the_same_code_on_every_member()
    {
        var authenticator = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        Assert.Equal(SecurityCodes.FromEpochAuthenticator(authenticator), SecurityCodes.FromEpochAuthenticator(authenticator.ToArray()));
    }

    [Fact]
    public void The_code_is_six_groups_of_five_digits()
    {
        var code = SecurityCodes.FromEpochAuthenticator(new byte[32]);
        Assert.Matches(new Regex("^[0-9]{5}( [0-9]{5}){5}$"), code);
    }

    [Fact]
    public void A_one_bit_difference_changes_the_code()
    {
        var a = new byte[32];
        var b = new byte[32];
        b[31] = 1;
        Assert.NotEqual(SecurityCodes.FromEpochAuthenticator(a), SecurityCodes.FromEpochAuthenticator(b));
    }
}
