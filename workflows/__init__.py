"""Workflows that span several apps in one transaction: each is a service above the apps it
calls (docs/architecture.md), so the apps themselves never import each other in a circle.
Views call them like any other service."""
