using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Tokenizers;

/// <summary>
/// Sentence pairs ([CLS] A [SEP] B [SEP]) against the peer's encode(text, {text_pair}): ids, tokens and type ids on
/// Tatoeba German-English pairs and adversarial pairs; longest-first truncation checked by its definition against the
/// peer's untruncated parts.
/// </summary>
public sealed class PairEncodingTests
{
    [Test]
    public void PairsIdenticalToPeerAndTruncatedLongestFirst()
    {
        var deu = JsonText.ReadLines(Path.Combine(TestPaths.SharedData, "tatoeba", "tatoeba.deu-eng.deu"));
        var eng = JsonText.ReadLines(Path.Combine(TestPaths.SharedData, "tatoeba", "tatoeba.deu-eng.eng"));
        // Lines that spell [SEP] are left out: the check below finds the peer's A/B boundary by the [SEP] id.
        var adversarial = JsonText.ReadStrings(Path.Combine(TestPaths.Fixtures, "adversarial.jsonl")).Where(l => !l.Contains("[SEP]")).ToList();
        var pairs = deu.Zip(eng).Take(500).Select(p => (p.First, p.Second))
            .Concat(adversarial.Zip(adversarial.Skip(1).Append(adversarial[0])).Select(p => (p.First, p.Second)))
            // The peer treats an empty second text as no pair at all (its `text_pair || null`); the reference
            // implementation still adds B's [SEP]. Such pairs are not compared.
            .Where(p => p.Item2.Length > 0)
            .ToList();
        var dir = Directory.CreateTempSubdirectory("na-pairs-").FullName;
        try
        {
            var input = Path.Combine(dir, "pairs.jsonl");
            File.WriteAllLines(input, pairs.Select(p => $"[{JsonText.Quote(p.Item1)},{JsonText.Quote(p.Item2)}]"));
            var tokenizer = TokenizerLoader.FromFile(TestPaths.DefaultTokenizerJson());
            var peer = PeerTokenizer.Run(TestPaths.DefaultTokenizerJson(), input, jsonStrings: true, pairs: true);
            Assert.That(peer, Has.Count.EqualTo(pairs.Count));
            var truncatedPairs = 0;
            for (var i = 0; i < pairs.Count; i++)
            {
                var (a, b) = pairs[i];
                var ours = tokenizer.Encode(a, b, maxLength: 0);
                Assert.That(ours.Ids, Is.EqualTo(peer[i].Ids), $"pair {i + 1}");
                Assert.That(ours.Tokens, Is.EqualTo(peer[i].Tokens), $"pair {i + 1}");
                Assert.That(ours.TypeIds, Is.EqualTo(peer[i].TypeIds), $"pair {i + 1}");

                // Longest-first: the peer's A and B parts, cut one token at a time from the longer (B on ties).
                var firstSep = Array.IndexOf(peer[i].Ids, 102);
                var peerA = peer[i].Ids[1..firstSep];
                var peerB = peer[i].Ids[(firstSep + 1)..^1];
                var truncated = tokenizer.Encode(a, b, maxLength: 128);
                int keepA = peerA.Length, keepB = peerB.Length;
                while (keepA + keepB > 125)
                {
                    if (keepA > keepB)
                    {
                        keepA--;
                    }
                    else
                    {
                        keepB--;
                    }
                }

                int[] expected = [101, .. peerA[..keepA], 102, .. peerB[..keepB], 102];
                Assert.That(truncated.Ids, Is.EqualTo(expected), $"pair {i + 1} truncated");
                truncatedPairs += truncated.TruncatedTokens > 0 ? 1 : 0;
            }

            Assert.That(truncatedPairs, Is.GreaterThanOrEqualTo(3));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
