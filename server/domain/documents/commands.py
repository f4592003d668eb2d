"""``mpp pki init`` and ``mpp verify FILE.pdf`` (``mpp bench documents`` lives in bench/)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from server.domain.documents.verify import SignatureCheck
    from server.settings import Settings


def register(app: typer.Typer) -> None:
    pki_app = typer.Typer(help="Signing keys for issued documents.", no_args_is_help=True)
    app.add_typer(pki_app, name="pki")

    @pki_app.command("init")
    def pki_init(
        directory: Path = typer.Option(None, "--dir", help="Where to write (default MPP_PKI_DIR or <data_dir>/pki)"),
        force: bool = typer.Option(
            False,
            "--force",
            help="Replace existing keys (documents signed before stay valid only while the old CA is trusted)",
        ),
    ) -> None:
        """Create a development regency CA and signer certificates (EC P-256; private keys 0600).

        Documents signed with these keys carry the SPESIMEN watermark. A production deployment sets
        MPP_SIGNING_KEYS (PKCS#12 per signer role) and MPP_TRUST_ROOTS instead.
        """
        from server.domain.documents.pki import clear_cache, init_dev_pki
        from server.settings import get_settings

        root = directory or get_settings().pki_path
        written = init_dev_pki(root, force=force)
        clear_cache()
        if written:
            typer.echo(f"development PKI in {root}: " + ", ".join(str(p.relative_to(root)) for p in written))
        else:
            typer.echo(f"development PKI already present in {root} (use --force to replace it)")

    @app.command("verify")
    def verify(
        pdf: Path = typer.Argument(..., exists=True, dir_okay=False, help="The printed document's PDF"),
        trust: list[Path] = typer.Option(None, "--trust", help="Extra PEM CA certificates to trust"),
        no_registry: bool = typer.Option(False, "--no-registry", help="Check the signature only"),
    ) -> None:
        """Check a document's PAdES signature offline, and match it with the local registry of issued documents.

        Exit code 0: valid; 1: not valid, revoked or unknown; 2: not a PDF.
        """
        from server.domain.documents.pki import KeyMaterialError, load_pem_cert, load_trust_roots
        from server.domain.documents.verify import NotAPdf, check_pdf
        from server.settings import get_settings

        settings = get_settings()
        try:
            roots = list(load_trust_roots(list(settings.trust_roots) + list(trust or [])))
        except KeyMaterialError as exc:
            raise typer.BadParameter(str(exc)) from None
        dev_ca = settings.pki_path / "ca.pem"
        if dev_ca.exists():
            roots.append(load_pem_cert(dev_ca))
        if not roots:
            typer.echo("no trust roots: set MPP_TRUST_ROOTS, pass --trust CA.pem, or run `mpp pki init`", err=True)
            raise typer.Exit(1)
        data = pdf.read_bytes()
        try:
            check = check_pdf(data, tuple(roots))
        except NotAPdf as exc:
            typer.echo(f"{pdf}: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"file        {pdf} ({len(data)} bytes, sha256 {check.sha256[:16]}…)")
        typer.echo(f"signed      {'yes' if check.signed else 'no'}")
        if check.signed:
            typer.echo(f"signer      {check.signer}")
            typer.echo(f"signed at   {check.signed_at}{' (timestamped)' if check.timestamped else ''}")
            typer.echo(f"intact      {'yes' if check.intact else 'NO'}")
            typer.echo(f"trusted     {'yes' if check.trusted else 'NO'}")
            typer.echo(f"whole file  {'yes' if check.entire_file else 'NO (content added after signing)'}")
        ok = check.ok
        if not no_registry:
            ok = _registry(settings, check) and ok
        typer.echo(f"result      {'VALID' if ok else 'NOT VALID'}" + (f" ({check.problem})" if check.problem else ""))
        raise typer.Exit(0 if ok else 1)


def _registry(settings: Settings, check: SignatureCheck) -> bool:
    """Match the file with the issued-documents registry; True when it is the issued, unrevoked document."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from server.persistence import models as m
    from server.persistence.db import make_engine, make_sessionmaker

    if settings.is_sqlite and not (settings.data_dir / "mpp.db").exists():
        typer.echo("registry    none here (no database): signature checked only")
        return True
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as db:
            doc = db.scalar(select(m.IssuedDocument).where(m.IssuedDocument.sha256 == check.sha256))
            claimed = None
            if doc is None and check.code:
                claimed = db.scalar(select(m.IssuedDocument).where(m.IssuedDocument.code == check.code))
    except SQLAlchemyError as exc:
        typer.echo(f"registry    not reachable ({exc.__class__.__name__}): signature checked only")
        return True
    finally:
        engine.dispose()
    if doc is not None:
        state = "REVOKED" if doc.revoked_at else "issued"
        typer.echo(f"registry    {state}: {doc.number}, {doc.issuer}")
        return doc.revoked_at is None
    if claimed is not None:
        typer.echo(f"registry    ALTERED: the file claims {claimed.number} but differs from the issued document")
        return False
    typer.echo("registry    not registered here")
    return False
