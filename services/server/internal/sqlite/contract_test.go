package sqlite_test

import (
	"testing"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/storetest"
)

// The store contract suites, the same the Mongo stores pass. SQLite runs
// every atomicity check (no options).

func TestContractServers(t *testing.T) {
	storetest.TestServers(t, func(t *testing.T) guild.ServerStore { return newStore(t) })
}

func TestContractMembers(t *testing.T) {
	storetest.TestMembers(t, func(t *testing.T) guild.MemberStore { return newStore(t) })
}

func TestContractChannels(t *testing.T) {
	storetest.TestChannels(t, func(t *testing.T) guild.ChannelStore { return newStore(t) })
}

func TestContractInvites(t *testing.T) {
	storetest.TestInvites(t, func(t *testing.T) guild.InviteStore { return newStore(t) })
}

func TestContractMessages(t *testing.T) {
	storetest.TestMessages(t, func(t *testing.T) chat.MessageStore { return newStore(t) })
}

func TestContractReadStates(t *testing.T) {
	storetest.TestReadStates(t, func(t *testing.T) chat.ReadStateStore { return newStore(t) })
}

func TestContractCascades(t *testing.T) {
	storetest.TestCascades(t, func(t *testing.T) storetest.Stores {
		s := newStore(t)
		return storetest.Stores{Guild: s, Messages: s, ReadStates: s, Mentions: s, Reactions: s, Pins: s}
	})
}

func TestContractMessageMentions(t *testing.T) {
	storetest.TestMessageMentions(t, func(t *testing.T) chat.MessageStore { return newStore(t) })
}

func TestContractMentionIndex(t *testing.T) {
	storetest.TestMentionIndex(t, func(t *testing.T) chat.MentionIndex { return newStore(t) })
}

func TestContractNotifySettings(t *testing.T) {
	storetest.TestNotifySettings(t, func(t *testing.T) chat.NotifySettingStore { return newStore(t) })
}

func TestContractReactions(t *testing.T) {
	storetest.TestReactions(t, func(t *testing.T) chat.ReactionStore { return newStore(t) })
}

func TestContractPins(t *testing.T) {
	storetest.TestPins(t, func(t *testing.T) chat.PinStore { return newStore(t) })
}

func TestContractAttachments(t *testing.T) {
	storetest.TestAttachments(t, func(t *testing.T) chat.AttachmentStore { return newStore(t) })
}
