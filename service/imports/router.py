"""Placeholder router; the feature is being written."""

from fastapi import APIRouter

router = APIRouter()
