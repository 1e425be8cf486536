package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/sqlitex"
)

// Every statement of the store is served by the primary key or an index:
// none reads a whole table or sorts rows outside an index, so each costs
// what it returns, with a thousand messages or a million.
func TestEveryQueryUsesAnIndex(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := platformtest.SQLite(t, "")
	if _, err := New(ctx, db); err != nil {
		t.Fatal(err)
	}
	// No ANALYZE runs on these databases, so the planner chooses from the
	// schema alone, as it does here.
	ids, id, now := idList([]string{"a", "b"}), "65a1b2c3d4e5f60718293a4b", int64(1)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"insert server":     {qInsertServer, []any{id, "n", "guild", "u", nil, nil, 0, now, ""}},
		"server by id":      {qServerByID, []any{id}},
		"server by dm key":  {qServerByDM, []any{"k"}},
		"servers by ids":    {qServersByIDs, []any{ids}},
		"rename server":     {qRenameServer, []any{"n", id}},
		"set server icon":   {qSetIcon, []any{"h", id}},
		"swap owner":        {qSwapOwner, []any{"t", id, "f"}},
		"add member count":  {qAddMembers, []any{1, id}},
		"delete server":     {qDeleteServer, []any{id}},
		"insert member":     {qInsertMember, []any{id, "s", "u", 3, "guild", now}},
		"member":            {qMember, []any{"s", "u"}},
		"members":           {qMembers, []any{"s", "", 50}},
		"memberships":       {qMemberships, []any{"u", "", 50}},
		"memberships kind":  {qMembershipsOfKind, []any{"u", "dm", "", 50}},
		"member user ids":   {qMemberUserIDs, []any{"s"}},
		"set member role":   {qSetMemberRole, []any{2, "s", "u", 3}},
		"delete member":     {qDeleteMember, []any{"s", "u", 3}},
		"shared users":      {qSharedUsers, []any{ids, ids}},
		"insert channel":    {qInsertChannel, []any{id, "s", "n", "", 0, now}},
		"channel":           {qChannel, []any{id}},
		"channels":          {qChannels, []any{"s"}},
		"channels of many":  {qChannelsOfServers, []any{ids}},
		"update channel":    {qUpdateChannel, []any{"n", nil, id}},
		"channel position":  {qSetChannelPosition, []any{1, id}},
		"delete channel":    {qDeleteChannel, []any{id}},
		"insert invite":     {qInsertInvite, []any{"c", "s", "u", nil, 0, 0, now}},
		"invite":            {qInvite, []any{"c"}},
		"invites":           {qInvites, []any{"s", "", 50}},
		"delete invite":     {qDeleteInvite, []any{"c", "s"}},
		"delete uses":       {qDeleteUses, []any{"c"}},
		"claim use":         {qClaimUse, []any{"c", "s", "u", now, 5}},
		"invite uses":       {qInviteUses, []any{"c"}},
		"count invite use":  {qCountInvite, []any{"c"}},
		"server invites":    {qDeleteServerInvites, []any{"s"}},
		"server uses":       {qDeleteServerUses, []any{"s"}},
		"server channels":   {qDeleteServerChannels, []any{"s"}},
		"server messages":   {qDeleteServerMessages, []any{"s"}},
		"server reads":      {qDeleteServerReads, []any{"s"}},
		"server members":    {qDeleteServerMembers, []any{"s"}},
		"channel messages":  {qDeleteChannelMessages, []any{"c"}},
		"channel reads":     {qDeleteChannelReads, []any{"c"}},
		"insert message":    {qInsertMessage, []any{id, "s", "c", "u", "hi", now, nil, "", "", "[]", "[]", false}},
		"message":           {qMessage, []any{id}},
		"message by req":    {qMessageByRequest, []any{"u", "r"}},
		"messages by ids":   {qMessagesByIDs, []any{ids}},
		"messages before":   {qMessagesBefore, []any{"c", noID, 50}},
		"messages after":    {qMessagesAfter, []any{"c", id, 50}},
		"scan messages":     {qScanMessages, []any{id, 500}},
		"newest messages":   {qNewestMessages, []any{"c", "", 101}},
		"unread count":      {qUnreadCount, []any{"c", "", 101, "u"}},
		"edit message":      {qEditMessage, []any{"x", now, "[]", "[]", false, id}},
		"delete message":    {qDeleteMessage, []any{id}},
		"message authors":   {qMessageAuthors, []any{now, now}},
		"advance marker":    {qAdvanceMarker, []any{"u", "c", "s", id, now}},
		"read marker":       {qReadMarker, []any{"u", "c"}},
		"read markers":      {qReadMarkers, []any{"u", ids}},
		"server mentions":   {qDeleteServerMentions, []any{"s"}},
		"channel mentions":  {qDeleteChannelMentions, []any{"c"}},
		"insert mentions":   {qInsertMentions, []any{ids, id, "c", "s", "u"}},
		"delete mentions":   {qDeleteMentions, []any{id}},
		"count mentions":    {qCountMentions, []any{"u", "c", "", 101}},
		"list mentions":     {qListMentions, []any{"u", noID, 26}},
		"put notify":        {qPutNotifySetting, []any{"u", "s", "", 2, false}},
		"notify settings":   {qNotifySettings, []any{"u"}},
		"add reaction":      {qAddReaction, []any{id, "e", "u", "c", now}},
		"remove reaction":   {qRemoveReaction, []any{id, "e", "u"}},
		"reaction counts":   {qReactionCounts, []any{ids}},
		"user reactions":    {qUserReactions, []any{"u", ids}},
		"reactors":          {qReactors, []any{id, "e", "", 51}},
		"msg reactions":     {qDeleteMessageReactions, []any{id}},
		"add pin":           {qAddPin, []any{"c", id, "u", now}},
		"remove pin":        {qRemovePin, []any{"c", id}},
		"pins":              {qPins, []any{"c", 51}},
		"pinned among":      {qPinnedAmong, []any{"c", ids}},
		"channel reactions": {qDeleteChannelReactions, []any{"c"}},
		"channel pins":      {qDeleteChannelPins, []any{"c"}},
		"server reactions":  {qDeleteServerReactions, []any{"s"}},
		"server pins":       {qDeleteServerPins, []any{"s"}},
		"insert attachment": {qInsertAttachment, []any{id, "s", "c", "u", "", "n", "t", 1, 0, 0, "k", "", 0, 0, now}},
		"attachment":        {qAttachment, []any{id}},
		"attachments of":    {qAttachmentsOf, []any{ids}},
		"attach":            {qAttach, []any{"m", id}},
		"detach":            {qDetach, []any{id, "m"}},
		"delete attachment": {qDeleteAttachment, []any{id}},
		"unattached":        {qUnattached, []any{now, 100}},
		"channel files":     {qAttachmentsInChannel, []any{"c", 100}},
		"server files":      {qAttachmentsInServer, []any{"s", 100}},
		"bytes by server":   {qBytesByServer, nil},
	} {
		plan, err := db.Plan(ctx, q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bad := sqlitex.Unindexed(plan); len(bad) > 0 {
			t.Errorf("%s reads without an index: %s\n%s", name, strings.Join(bad, "; "), q.sql)
		}
		// A write with no lookup (an INSERT) has an empty plan; a read or
		// an update must show the index it searches.
		sql := strings.TrimSpace(q.sql)
		// An INSERT ... SELECT over json_each reads only its argument.
		argOnly := strings.HasPrefix(sql, "INSERT") && len(plan) == 1 && strings.HasPrefix(plan[0], "SCAN json_each")
		if (!strings.HasPrefix(sql, "INSERT") || strings.Contains(sql, "SELECT")) && !argOnly && !strings.Contains(strings.Join(plan, "\n"), "SEARCH ") {
			t.Errorf("%s: plan %q searches no index", name, plan)
		}
		t.Logf("%s: %s", name, strings.Join(plan, " | "))
	}
}

// The statements excepted from the check above, each with why its scan
// costs the same at any size.
func TestBoundedScans(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := platformtest.SQLite(t, "")
	if _, err := New(ctx, db); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]struct{ sql, why string }{
		"any server":     {qAnyServer, "reads the first row only (LIMIT 1), once before an import"},
		"oldest message": {qOldestMessage, "reads the first entry of messages_created_at (LIMIT 1), once per stats rebuild"},
	} {
		plan, err := db.Plan(ctx, q.sql)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(q.sql, "LIMIT") {
			t.Errorf("%s has no LIMIT: %s", name, q.sql)
		}
		t.Logf("%s: %s (%s)", name, strings.Join(plan, " | "), q.why)
	}
}
