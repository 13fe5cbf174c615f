"""The Slack adapter: a slack-bolt app over the same services as Discord's, Block Kit presenters, the poster."""
