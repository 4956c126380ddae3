using PgDr.Archive.Repositories;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Repositories;

public sealed class ObjectKeyTests
{
    [Theory]
    [InlineData("main/wal/0000000100000000/000000010000000000000001")]
    [InlineData("main/wal/00000002.history")]
    [InlineData("main/wal/000000010000000000000003.00000028.backup")]
    [InlineData("main/wal/000000010000000000000004.partial")]
    [InlineData("main/backup/20240101T000000F/base.tar.zst")]
    [InlineData("pgdr.identity")]
    [InlineData("a/.hidden")]
    public void Keys_of_the_archive_layout_are_accepted(string key) => ObjectKey.Validate(key);

    [Theory]
    [InlineData("", "empty")]
    [InlineData("/abs", "starts with '/'")]
    [InlineData("a/../b", "'..'")]
    [InlineData("a\\b", "backslash")]
    [InlineData("a//b", "empty path segment")]
    [InlineData("a/b/", "empty path segment")]
    [InlineData("a/./b", "'.'")]
    [InlineData("a/.pgdr-tmp.b", "reserved")]
    [InlineData("a b", "' '")]
    [InlineData("a\nb", "U+000A")]
    [InlineData("a:b", "':'")]
    public void Unsafe_keys_are_refused_with_a_message_that_says_why(string key, string reason)
    {
        var ex = Assert.Throws<PgDrArgumentException>(() => ObjectKey.Validate(key));

        Assert.Equal(ErrorIds.InvalidObjectKey, ex.ErrorId);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_longer_than_1024_characters_are_refused() =>
        Assert.Throws<PgDrArgumentException>(() => ObjectKey.Validate(new string('a', 1025)));

    [Theory]
    [InlineData("")]
    [InlineData("main/wal/")]
    [InlineData("main/wal/0000000100")]
    [InlineData("main/.pgdr-t")]
    public void List_prefixes_may_be_empty_end_with_a_slash_or_stop_inside_a_name(string prefix) => ObjectKey.ValidatePrefix(prefix);

    [Theory]
    [InlineData("../")]
    [InlineData("/main")]
    [InlineData("main//")]
    public void List_prefixes_follow_the_key_rules_otherwise(string prefix) =>
        Assert.Throws<PgDrArgumentException>(() => ObjectKey.ValidatePrefix(prefix));
}
