using Room.Crypto.Mls;

namespace Room.Crypto.Tests.Vectors;

/// <summary>messages.json: every structure decodes and re-encodes byte-identically.</summary>
public static class MlsMessageVectors
{
    private static byte[] RoundTrip<T>(byte[] data, Func<MlsReader, T> read, Action<MlsWriter, T> write)
    {
        var v = MlsReader.DecodeAll(data, read);
        var w = new MlsWriter();
        write(w, v);
        return w.ToArray();
    }

    private static byte[] ProposalBody(byte[] data, ProposalType t)
    {
        byte[] withType = [(byte)((ushort)t >> 8), (byte)t, .. data];
        return RoundTrip(withType, Proposal.Read, (w, p) => p.Write(w))[2..];
    }

    public static Tally Run(string file)
    {
        var t = new Tally(file);
        using var doc = VectorFiles.Load(file);
        int i = 0;
        foreach (var v in doc.RootElement.EnumerateArray())
        {
            foreach (var prop in v.EnumerateObject())
            {
                byte[] data = prop.Value.Hex();
                t.Case($"[{i}].{prop.Name}", () =>
                {
                    byte[] back = prop.Name switch
                    {
                        "mls_welcome" or "mls_group_info" or "mls_key_package" or "public_message_application" or "public_message_proposal"
                            or "public_message_commit" or "private_message" => RoundTrip(data, MlsMessage.Read, (w, m) => m.Write(w)),
                        "ratchet_tree" => RoundTrip(data, Node.ReadTree, Node.WriteTree),
                        "group_secrets" => RoundTrip(data, GroupSecrets.Read, (w, g) => g.Write(w)),
                        "add_proposal" => ProposalBody(data, ProposalType.Add),
                        "update_proposal" => ProposalBody(data, ProposalType.Update),
                        "remove_proposal" => ProposalBody(data, ProposalType.Remove),
                        "pre_shared_key_proposal" => ProposalBody(data, ProposalType.Psk),
                        "re_init_proposal" => ProposalBody(data, ProposalType.ReInit),
                        "external_init_proposal" => ProposalBody(data, ProposalType.ExternalInit),
                        "group_context_extensions_proposal" => ProposalBody(data, ProposalType.GroupContextExtensions),
                        "commit" => RoundTrip(data, Commit.Read, (w, c) => c.Write(w)),
                        _ => throw new InvalidOperationException("unknown field " + prop.Name),
                    };
                    Check.Equal(data, back, prop.Name);
                });
            }

            i++;
        }

        return t;
    }
}
