#pragma once
// Rank 0's inbox and outbox (engine/rank_inbox.hpp): the mailboxes between the bridge's thread
// and rank 0's engine thread. Replies go to the bridge a batch at a time, with the number of
// tasks still waiting here, which the bridge weighs when it holds replies for the controller.

#include "common/fifo.hpp"
#include "engine/bridge.hpp"
#include "engine/rank_inbox.hpp"
#include "transport/mailbox.hpp"

namespace crew::detail {

class BridgeInbox final : public RankInbox {
public:
  explicit BridgeInbox(Mailbox<LocalTask>& from_bridge) : from_bridge_(from_bridge) {}
  void take_arrived() override { from_bridge_.drain(work_); }
  std::size_t waiting() const override { return work_.size(); }
  wire::Packet next() override;
  void wait(bool replies_leaving) override;

private:
  Mailbox<LocalTask>& from_bridge_;
  Fifo<LocalTask> work_;
};

class BridgeOutbox final : public RankOutbox {
public:
  /// `say_answers`: the bridge wants to know which task each reply answers (it outlives the
  /// controller: BridgeConfig::restorable).
  BridgeOutbox(Mailbox<LocalReply>& to_bridge, bool say_answers) : to_bridge_(to_bridge), say_answers_(say_answers) {}
  void add(wire::Outgoing reply, std::string_view answers) override {
    replies_.messages.push_back(std::move(reply));
    if (say_answers_) replies_.answers.emplace_back(answers);
  }
  bool empty() const override { return replies_.messages.empty(); }
  void send(std::size_t backlog) override;
  bool progress() override { return false; }  // a mailbox push is done once made
  void goodbye() override;

private:
  Mailbox<LocalReply>& to_bridge_;
  bool say_answers_;
  LocalReply replies_;
};

}  // namespace crew::detail
