"""The emulator's own data sources and their connection-property schemas.

This is an independent reading of Qlik's published examples: the 14 Data
Integration kinds (``repsrc_``/``reptgt_`` ids), the Amazon S3 analytics
connector, and three Direct Access gateway (``DG_``) connectors. Property
names, example defaults and value types follow the published create
examples: ports and numeric settings are strings, flags are booleans.

``DataSource.api_spec`` renders a schema in the shape of the
``GET /api/v1/data-sources/{id}/api-specs`` response.

NOTE: the real service's marking of secrets and its ``required`` lists are
unpublished, so this module uses its own convention. A secret property has
``"writeOnly": true``. A file property is an array of one
``{"name", "value"}`` object, also with ``"writeOnly": true``. ``required``
lists the address, user and credential of each kind, and the gateway
property where the kind runs on a gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

PropertyType = Literal["string", "boolean", "file"]

# NOTE: repsrc_/reptgt_ entries in GET /data-sources are unpublished. The
# provider name and version below are inferred from a created connection's
# tag, "DcaasAPI:QlikConnectorsCommonService.exe:1.202.0".
COMMON_SERVICE = "QlikConnectorsCommonService.exe"
COMMON_SERVICE_NAME = "Qlik Connectors Common Service"
COMMON_SERVICE_VERSION = "1.202.0"

# The literal that published examples send as agentId for Qlik-managed targets.
QLIK_MANAGED_GATEWAY = "$$qlikManagedGateway$$"


@dataclass(frozen=True)
class PropertySpec:
    """One connection property of a data source.

    A ``file`` property contains one uploaded file as ``[{"name", "value"}]``
    with base64 content. Secret and file properties are never returned by
    the emulator. A string whose default is all digits (a port, a size)
    also accepts a JSON integer in PATCH, stored as its decimal string.
    """

    name: str
    type: PropertyType
    description: str
    default: str | bool | None = None
    enum: tuple[str, ...] = ()
    secret: bool = False
    required: bool = False

    @property
    def is_file(self) -> bool:
        """Whether the value is an uploaded file."""
        return self.type == "file"

    @property
    def is_hidden(self) -> bool:
        """Whether the value is stored as a digest and never returned."""
        return self.secret or self.is_file

    @property
    def is_numeric_string(self) -> bool:
        """Whether this is a string property whose default is a number."""
        return (
            self.type == "string"
            and isinstance(self.default, str)
            and self.default.isdigit()
        )

    def schema(self) -> dict[str, Any]:
        """Render this property as a JSON-Schema fragment."""
        if self.is_file:
            return {
                "type": "array",
                "writeOnly": True,
                "description": self.description,
                "items": {
                    "type": "object",
                    "required": ["name", "value"],
                    "properties": {
                        "name": {"type": "string"},
                        "value": {"type": "string", "contentEncoding": "base64"},
                    },
                },
            }

        schema: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.default is not None:
            schema["default"] = self.default
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.secret:
            schema["writeOnly"] = True
        return schema


@dataclass(frozen=True)
class Gateway:
    """A Direct Access gateway offered for a ``DG_`` data source."""

    gateway_id: str
    name: str
    default: bool


@dataclass(frozen=True)
class DataSource:
    """A data source (connector) and the properties its connections take.

    ``gateway_property`` names the property that must hold a non-empty
    gateway id, or is ``None`` when the kind needs no gateway.
    ``statement_provider`` is the provider written into the connect
    statement when it differs from ``provider``.
    """

    data_source_id: str
    display_name: str
    provider: str
    provider_name: str
    connector_version: str
    qri_prefix: str
    qri_properties: tuple[str, ...]
    properties: tuple[PropertySpec, ...]
    gateway_property: str | None = None
    statement_provider: str | None = None
    gateways: tuple[Gateway, ...] = ()

    def spec_for(self, name: str) -> PropertySpec | None:
        """Return the property called ``name`` (case-sensitive), if any."""
        for spec in self.properties:
            if spec.name == name:
                return spec
        return None

    @property
    def required(self) -> list[str]:
        """Names of the properties a create request must contain."""
        return [spec.name for spec in self.properties if spec.required]

    @property
    def credential_properties(self) -> list[str]:
        """Names of the secret and file properties."""
        return [spec.name for spec in self.properties if spec.is_hidden]

    def api_spec(self) -> dict[str, Any]:
        """Render the ``api-specs`` response body for this data source."""
        properties = {spec.name: spec.schema() for spec in self.properties}
        return {
            "connectorProvider": self.provider,
            "connectorVersion": self.connector_version,
            "connectionProperties": {
                "type": "object",
                "properties": properties,
                "required": self.required,
            },
        }

    @property
    def tag(self) -> str:
        """The tag that the service puts on connections created from properties."""
        return f"DcaasAPI:{self.provider}:{self.connector_version}"


def _text(
    name: str,
    description: str,
    default: str | None = None,
    *,
    enum: tuple[str, ...] = (),
    required: bool = False,
) -> PropertySpec:
    return PropertySpec(name, "string", description, default, enum, required=required)


def _flag(name: str, description: str, default: bool) -> PropertySpec:
    return PropertySpec(name, "boolean", description, default)


def _secret(name: str, description: str, *, required: bool = True) -> PropertySpec:
    return PropertySpec(name, "string", description, secret=True, required=required)


def _file(name: str, description: str, *, required: bool = True) -> PropertySpec:
    return PropertySpec(name, "file", description, required=required)


def _agent(*, required: bool = True) -> PropertySpec:
    description = (
        "Id of the Data Movement gateway that reaches the database, or "
        f"{QLIK_MANAGED_GATEWAY} for a Qlik-managed gateway."
    )
    return _text("agentId", description, required=required)


def _address(name: str = "server") -> PropertySpec:
    return _text(name, "Host name or address of the database server.", required=True)


def _user() -> PropertySpec:
    return _text("username", "Database user name.", required=True)


def _password() -> PropertySpec:
    return _secret("password", "Password of the database user.")


def _port(default: str) -> PropertySpec:
    return _text("port", "TCP port of the database server.", default)


def _endpoint_type(default: str) -> PropertySpec:
    return _text("replicateEndpointType", "Replication endpoint type.", default)


# NOTE: only "PREFER" is published for sslMode. The other values are the
# database's own SSL mode names in the same upper-case style.
MYSQL_SSL_MODES = ("NONE", "PREFER", "REQUIRED", "VERIFY_CA", "VERIFY_FULL")
POSTGRES_SSL_MODES = (
    "DISABLE",
    "ALLOW",
    "PREFER",
    "REQUIRE",
    "VERIFY_CA",
    "VERIFY_FULL",
)


def _di_source(
    data_source_id: str,
    display_name: str,
    qri_scheme: str,
    properties: tuple[PropertySpec, ...],
    *,
    gateway: bool = True,
) -> DataSource:
    # NOTE: the qri of a Data Integration connection is unpublished; the
    # emulator uses "qri:<kind>:<scheme>://" and a hash of the address.
    address = [p.name for p in properties if p.name in ("server", "host")]
    return DataSource(
        data_source_id=data_source_id,
        display_name=display_name,
        provider=COMMON_SERVICE,
        provider_name=COMMON_SERVICE_NAME,
        connector_version=COMMON_SERVICE_VERSION,
        qri_prefix=qri_scheme,
        qri_properties=tuple(address),
        properties=properties,
        gateway_property="agentId" if gateway else None,
    )


def _mysql_source() -> DataSource:
    return _di_source(
        "repsrc_mysql",
        "MySQL",
        "qri:db:mysql://",
        (
            _agent(),
            _address(),
            _port("3306"),
            _user(),
            _password(),
            _endpoint_type("mysql###None"),
            _flag("sshEnable", "Connect through an SSH tunnel.", False),
            _text("sslMode", "SSL mode.", "PREFER", enum=MYSQL_SSL_MODES),
            _text("eventsPollInterval", "Seconds between binary log polls.", "5"),
        ),
    )


def _mysql_target() -> DataSource:
    return _di_source(
        "reptgt_qdimysql",
        "MySQL Target",
        "qri:db:mysql://",
        (
            _agent(),
            _address(),
            _port("3306"),
            _user(),
            _password(),
            _endpoint_type("mysqltarget###None"),
            _text("targetDbType", "Where the target tables go.", "MULTIPLE_DATABASES"),
            _text("maxFileSize", "Maximum load file size in KB.", "32000"),
            _text("parallelLoadThreads", "Number of parallel load threads.", "2"),
        ),
    )


def _mssql_source() -> DataSource:
    return _di_source(
        "repsrc_mssql",
        "Microsoft SQL Server (log based)",
        "qri:db:sqlserver://",
        (
            _agent(),
            _address(),
            _user(),
            _password(),
            _endpoint_type("sqlServer###None"),
            _flag("useEncryptedConnection", "Encrypt the connection.", False),
            _flag("databaseManualInput", "Type the database name.", False),
            _text("database", "Database name."),
            _text(
                "safeguardPolicy",
                "How the transaction log is kept for capture.",
                "RELY_ON_SQL_SERVER_REPLICATION_AGENT",
            ),
            _text("safeguardFrequency", "Safeguard interval in seconds.", "300"),
            _text("TlogAccessMode", "How the transaction log is read.", "PreferTlog"),
            _flag("useWindowsAuthentication", "Use Windows authentication.", False),
            _flag("use3rdPartyBackupDevice", "Read third-party backups.", False),
        ),
    )


def _mssql_target() -> DataSource:
    return _di_source(
        "reptgt_mssqltarget",
        "Microsoft SQL Server Target",
        "qri:db:sqlserver://",
        (
            _agent(),
            _address(),
            _user(),
            _password(),
            _endpoint_type("sqlServer###None"),
            _text(
                "AuthenticationModes",
                "Authentication method.",
                "SQL_CREDENTIALS",
                enum=("SQL_CREDENTIALS",),
            ),
            _flag("useEncryptedConnection", "Encrypt the connection.", False),
            _flag("useWindowsAuthentication", "Use Windows authentication.", False),
            _flag(
                "suspendTableWithComputedColumn",
                "Suspend tables that have computed columns.",
                True,
            ),
            _flag("databaseManualInput", "Type the database name.", False),
            _text("database", "Database name."),
        ),
    )


def _postgres_source() -> DataSource:
    return _di_source(
        "repsrc_postgresql",
        "PostgreSQL",
        "qri:db:postgres://",
        (
            _agent(),
            _address(),
            _port("5432"),
            _user(),
            _password(),
            _endpoint_type("postgresqlsource###None"),
            _text("database", "Database name."),
            _text("sslMode", "SSL mode.", "PREFER", enum=POSTGRES_SSL_MODES),
            _flag("sslCompression", "Compress SSL traffic.", True),
            _flag("captureDDLs", "Capture DDL changes.", True),
            _flag("heartbeatEnable", "Write heartbeat records.", False),
            _text("ddlArtifactsSchema", "Schema for DDL capture objects.", "public"),
        ),
    )


def _postgres_target() -> DataSource:
    return _di_source(
        "reptgt_qdipostgresql",
        "PostgreSQL Target",
        "qri:db:postgres://",
        (
            _agent(),
            _address("host"),
            _port("5432"),
            _user(),
            _password(),
            _endpoint_type("postgresql###None"),
            _text("database", "Database name."),
            _text("sslMode", "SSL mode.", "PREFER", enum=POSTGRES_SSL_MODES),
            _flag("sslCompression", "Compress SSL traffic.", True),
            _text("maxFileSize", "Maximum load file size in KB.", "32000"),
        ),
    )


def _oracle_source() -> DataSource:
    return _di_source(
        "repsrc_oracle",
        "Oracle",
        "qri:db:oracle://",
        (
            _agent(),
            _text(
                "server",
                "Connect string in the form //<host>:<port>/<service name>.",
                required=True,
            ),
            _user(),
            _password(),
            _text("numberDatatypeScale", "Scale of NUMBER columns.", "10"),
            _flag("allowSelectNestedTables", "Replicate nested tables.", False),
            _flag("replicateInvisibleColumns", "Replicate invisible columns.", False),
            _text("retryInterval", "Seconds between reconnect attempts.", "5"),
            _text("archivedLogDestId", "Archived redo log destination id.", "0"),
            _text(
                "additionalArchivedLogDestId",
                "Additional archived redo log destination id.",
                "0",
            ),
            _flag("archivedLogsOnly", "Read archived redo logs only.", False),
            _flag("useLogminerReader", "Read changes with LogMiner.", False),
            _text("parallelASMReadThreads", "Number of ASM reader threads.", "1"),
        ),
    )


def _oracle_target() -> DataSource:
    return _di_source(
        "reptgt_qdioracle",
        "Oracle Target",
        "qri:db:oracle://",
        (
            _agent(),
            _text(
                "server",
                "Connect string in the form //<host>:<port>/<service name>.",
                required=True,
            ),
            _user(),
            _password(),
        ),
    )


def _snowflake_target() -> DataSource:
    # Published examples send no agentId for Snowflake, so it is optional.
    return _di_source(
        "reptgt_qdisnowflake",
        "Snowflake Target",
        "qri:db:snowflake://",
        (
            _agent(required=False),
            _text(
                "server",
                "Account host, <account>.snowflakecomputing.com.",
                required=True,
            ),
            _port("443"),
            _flag("databaseManualInput", "Type the database name.", True),
            _text("databaseQcsString", "Database name."),
            _text("warehouse", "Virtual warehouse."),
            _user(),
            _text(
                "authentication_mode",
                "Authentication method.",
                "KEY_PAIR",
                enum=("KEY_PAIR",),
            ),
            _file("privateKeyFile", "PKCS#8 private key file of the user."),
            _secret(
                "privateKeyPassphrase",
                "Passphrase of an encrypted private key.",
                required=False,
            ),
        ),
        gateway=False,
    )


def _databricks_target() -> DataSource:
    return _di_source(
        "reptgt_qdidatabricks",
        "Databricks Target",
        "qri:db:databricks://",
        (
            _agent(required=False),
            _text("server", "Workspace host name.", required=True),
            _port("443"),
            _text("httpPath", "HTTP path of the SQL warehouse.", required=True),
            _text(
                "authenticationMode",
                "Authentication method.",
                "PERSONAL_ACCESS_TOKEN",
                enum=("PERSONAL_ACCESS_TOKEN",),
            ),
            _secret("password", "Personal access token."),
        ),
        gateway=False,
    )


def _bigquery_target() -> DataSource:
    return _di_source(
        "reptgt_qdibigquery",
        "Google BigQuery Target",
        "qri:db:gbq://",
        (
            _agent(required=False),
            _text("datasetLocation", "Location of the datasets, such as US."),
            _file("jsonCredentials", "Service account key file (JSON)."),
        ),
        gateway=False,
    )


def _adls_target() -> DataSource:
    return _di_source(
        "reptgt_qdiadls",
        "Azure Data Lake Storage Target",
        "qri:file:adls://",
        (
            _agent(),
            _text(
                "adlsLoginUrl",
                "Microsoft Entra login URL.",
                "https://login.microsoftonline.com/",
            ),
            _text("storageAccount", "Storage account name.", required=True),
            _text("fileSystem", "Container (file system) name.", required=True),
            _text("adlstenantid", "Directory (tenant) id.", required=True),
            _text("adlsclientappid", "Application (client) id.", required=True),
            _secret("adlsclientappkey", "Client secret of the application."),
        ),
    )


def _s3_target() -> DataSource:
    # NOTE: s3AccessKey is inferred. Published examples show only the secret
    # key, and the analytics S3 connector stores both keys as credentials.
    return _di_source(
        "reptgt_qdis3",
        "Amazon S3 Target",
        "qri:file:s3://",
        (
            _agent(),
            _text("bucketName", "Bucket name.", required=True),
            _flag("useAwsPrivateLink", "Reach S3 through AWS PrivateLink.", False),
            _secret("s3AccessKey", "Access key id."),
            _secret("s3SecretKey", "Secret access key."),
        ),
    )


def _gcs_target() -> DataSource:
    return _di_source(
        "reptgt_qdigooglecloudstorage",
        "Google Cloud Storage Target",
        "qri:file:gcs://",
        (
            _agent(),
            _text("bucketName", "Bucket name.", required=True),
            _file("jsonCredentials", "Service account key file (JSON)."),
        ),
    )


# NOTE: the published example lists AWS region codes but is truncated. This
# list is the emulator's own and may miss newer regions.
AWS_REGIONS = (
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
)


def _s3_analytics() -> DataSource:
    return DataSource(
        data_source_id="File_AmazonS3ConnectorV2",
        display_name="Amazon S3 V2",
        provider="QvWebStorageProviderConnectorPackage.exe",
        provider_name="Qlik Web Connectors",
        connector_version="4.46.0",
        qri_prefix="qri:file:s3://",
        qri_properties=("region", "bucketName"),
        statement_provider="QvWebConnectorPackage.exe",
        properties=(
            _text(
                "region",
                "AWS region code of the bucket; the values are case-sensitive.",
                "us-east-1",
                enum=AWS_REGIONS,
            ),
            _text("bucketName", "Bucket name.", required=True),
            _text(
                "storeSseHeader",
                "Value of x-amz-server-side-encryption sent with each upload.",
            ),
            _flag(
                "separateCredentials",
                "Keep credentials out of the connection; each user adds their own.",
                False,
            ),
            _text("selectedCredentials", "Credentials to associate."),
            _text("credentialsName", "Name for the stored credentials."),
            _secret("accessKey", "Access key id."),
            _secret("secretKey", "Secret access key."),
        ),
    )


def _gateway_source(
    data_source_id: str, display_name: str, qri_prefix: str, port: str, key: str
) -> DataSource:
    # NOTE: only gatewayInstance is published for DG_ connectors; the other
    # property names are the emulator's own.
    return DataSource(
        data_source_id=data_source_id,
        display_name=display_name,
        provider=COMMON_SERVICE,
        provider_name=COMMON_SERVICE_NAME,
        connector_version=COMMON_SERVICE_VERSION,
        qri_prefix=qri_prefix,
        qri_properties=("host", "port"),
        gateway_property="gatewayInstance",
        properties=(
            _text(
                "gatewayInstance",
                "Id of the Direct Access gateway, from the gateways endpoint.",
                required=True,
            ),
            _address("host"),
            _port(port),
            _text("database", "Database name."),
            _user(),
            _password(),
        ),
        gateways=(
            Gateway(f"{key}::a6CxFtkInvsJnrNXCOVWR8pQOwaphpU0", "Gateway A", True),
            Gateway(f"{key}::Ue2RkVbq0yFwJm8HtTsXp3LdQ7cZnG4o", "Gateway B", False),
        ),
    )


def _build_catalog() -> dict[str, DataSource]:
    sources = [
        _mysql_source(),
        _mysql_target(),
        _mssql_source(),
        _mssql_target(),
        _postgres_source(),
        _postgres_target(),
        _oracle_source(),
        _oracle_target(),
        _snowflake_target(),
        _databricks_target(),
        _bigquery_target(),
        _adls_target(),
        _s3_target(),
        _gcs_target(),
        _s3_analytics(),
        _gateway_source(
            "DG_mysql",
            "MySQL",
            "qri:db:mysql://",
            "3306",
            "hX2pWq9LzT4vKc7RbN1mYs8dJf3GuA6e",
        ),
        _gateway_source(
            "DG_mssql",
            "Microsoft SQL Server",
            "qri:db:sqlserver://",
            "1433",
            "Rm5QkKThkESl5ajnVxuiXZAczfSHo7hQ",
        ),
        _gateway_source(
            "DG_postgres",
            "PostgreSQL",
            "qri:db:postgres://",
            "5432",
            "c4Vn8sTq1ZpL6wXe3RjK9mGy2BhD5fUa",
        ),
    ]
    return {source.data_source_id: source for source in sources}


CATALOG: dict[str, DataSource] = _build_catalog()
